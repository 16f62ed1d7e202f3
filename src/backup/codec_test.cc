#include "backup/codec.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace parley::backup {
namespace {

constexpr uint64_t kLimit = 1u << 20;

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
    auto back = Open(blob, key, kLimit);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, text);
  }
  EXPECT_EQ(*Open(Seal("", std::nullopt), std::nullopt, kLimit), "");
}

TEST(CodecTest, EveryFlippedByteAndEveryTruncationIsDetected) {
  const std::string text = "a message worth keeping, 备份恢复, again and again and again";
  for (const std::optional<Key>& key : {std::optional<Key>(), std::optional<Key>(TestKey(2))}) {
    const std::string blob = Seal(text, key);
    for (size_t i = 0; i < blob.size(); ++i) {
      std::string bad = blob;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      EXPECT_FALSE(Open(bad, key, kLimit).ok()) << "flipped byte " << i;
    }
    for (size_t len = 0; len < blob.size(); ++len) {
      EXPECT_FALSE(Open(blob.substr(0, len), key, kLimit).ok()) << "truncated to " << len;
    }
  }
}

TEST(CodecTest, WrongOrMissingKeyIsAClearError) {
  const std::string blob = Seal("secret", TestKey(3));
  EXPECT_EQ(Open(blob, TestKey(4), kLimit).status().code(), Code::kUnauthenticated);
  auto missing = Open(blob, std::nullopt, kLimit);
  EXPECT_EQ(missing.status().code(), Code::kUnauthenticated);
  EXPECT_NE(missing.status().message().find("--key"), std::string::npos);
}

TEST(CodecTest, ContentIdsAreKeyedWhenEncrypting) {
  EXPECT_EQ(ContentId("x", std::nullopt), ContentId("x", std::nullopt));
  EXPECT_NE(ContentId("x", std::nullopt), ContentId("y", std::nullopt));
  EXPECT_NE(ContentId("x", TestKey(5)), ContentId("x", std::nullopt));
  EXPECT_EQ(NewKeyHex().size(), 64u);
}

// A forged blob: the plain-mode header with any declared length, a valid checksum.
std::string ForgedPlain(uint64_t declared, const std::string& compressed) {
  std::string out = "PLYB";
  out.push_back(1);
  out.push_back(0);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(declared >> (8 * i)));
  unsigned char sum[32];
  crypto_generichash(sum, sizeof(sum), reinterpret_cast<const unsigned char*>(compressed.data()),
                     compressed.size(), nullptr, 0);
  out.append(reinterpret_cast<const char*>(sum), sizeof(sum));
  return out + compressed;
}

TEST(CodecTest, PlainBlobsAreRefusedWhenAKeyIsGiven) {
  const std::string plain = Seal("not encrypted", std::nullopt);
  auto refused = Open(plain, TestKey(6), kLimit);
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("not encrypted"), std::string::npos);
  EXPECT_TRUE(Open(plain, std::nullopt, kLimit).ok());
}

TEST(CodecTest, DeclaredLengthsOverTheLimitAreRefusedBeforeAllocating) {
  // 16 GiB declared by a blob of ~200 bytes: refused without allocating it (an allocation
  // would throw bad_alloc, or take the memory).
  const std::string small = Seal("x", std::nullopt).substr(14 + 32);
  const std::string forged = ForgedPlain(uint64_t{16} << 30, small);
  EXPECT_LT(forged.size(), 300u);
  auto r = Open(forged, std::nullopt, kLimit);
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("over the limit"), std::string::npos);
  // Under the limit, but more than the frame holds: refused before allocating too.
  auto lying = Open(ForgedPlain(kLimit, small), std::nullopt, kLimit);
  EXPECT_EQ(lying.status().code(), Code::kCorruption);
  // A real blob over a smaller limit.
  EXPECT_FALSE(Open(Seal(std::string(5000, 'a'), std::nullopt), std::nullopt, 4999).ok());
  EXPECT_TRUE(Open(Seal(std::string(5000, 'a'), std::nullopt), std::nullopt, 5000).ok());
}

}  // namespace
}  // namespace parley::backup
