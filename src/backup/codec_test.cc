#include "backup/codec.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace parley::backup {
namespace {

Key TestKey(uint8_t fill) {
  Key k;
  k.fill(fill);
  return k;
}

TEST(CodecTest, RoundTripsPlainAndSealed) {
  ASSERT_GE(sodium_init(), 0);
  const std::string text(100000, 'm');
  for (const std::optional<Key>& key : {std::optional<Key>(), std::optional<Key>(TestKey(1))}) {
    std::string blob = Seal(text, key);
    EXPECT_LT(blob.size(), text.size() / 10);  // compressed
    auto back = Open(blob, key);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, text);
  }
  EXPECT_EQ(*Open(Seal("", std::nullopt), std::nullopt), "");
}

TEST(CodecTest, EveryFlippedByteAndEveryTruncationIsDetected) {
  const std::string text = "a message worth keeping, 备份恢复, again and again and again";
  for (const std::optional<Key>& key : {std::optional<Key>(), std::optional<Key>(TestKey(2))}) {
    const std::string blob = Seal(text, key);
    for (size_t i = 0; i < blob.size(); ++i) {
      std::string bad = blob;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      EXPECT_FALSE(Open(bad, key).ok()) << "flipped byte " << i;
    }
    for (size_t len = 0; len < blob.size(); ++len) {
      EXPECT_FALSE(Open(blob.substr(0, len), key).ok()) << "truncated to " << len;
    }
  }
}

TEST(CodecTest, WrongOrMissingKeyIsAClearError) {
  const std::string blob = Seal("secret", TestKey(3));
  EXPECT_EQ(Open(blob, TestKey(4)).status().code(), Code::kUnauthenticated);
  auto missing = Open(blob, std::nullopt);
  EXPECT_EQ(missing.status().code(), Code::kUnauthenticated);
  EXPECT_NE(missing.status().message().find("--key"), std::string::npos);
}

TEST(CodecTest, ContentIdsAreKeyedWhenEncrypting) {
  EXPECT_EQ(ContentId("x", std::nullopt), ContentId("x", std::nullopt));
  EXPECT_NE(ContentId("x", std::nullopt), ContentId("y", std::nullopt));
  EXPECT_NE(ContentId("x", TestKey(5)), ContentId("x", std::nullopt));
  EXPECT_EQ(NewKeyHex().size(), 64u);
}

}  // namespace
}  // namespace parley::backup
