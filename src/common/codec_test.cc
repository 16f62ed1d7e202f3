#include "common/codec.h"

#include <gtest/gtest.h>

#include <limits>

namespace parley {
namespace {

TEST(Codec, RoundTripsEveryFieldKind) {
  std::string buf;
  Writer w(&buf);
  w.U8(7);
  w.BigEndian64(0x0102030405060708ull);
  w.Varint(0);
  w.Varint(std::numeric_limits<uint64_t>::max());
  w.SignedVarint(-5);
  w.SignedVarint(std::numeric_limits<int64_t>::min());
  w.Bytes("héllo");
  Reader r(buf);
  EXPECT_EQ(r.U8(), 7);
  EXPECT_EQ(r.BigEndian64(), 0x0102030405060708ull);
  EXPECT_EQ(r.Varint(), 0u);
  EXPECT_EQ(r.Varint(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(r.SignedVarint(), -5);
  EXPECT_EQ(r.SignedVarint(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.Bytes(), "héllo");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.done());
}

TEST(Codec, BigEndianKeysSortNumerically) {
  std::string a, b;
  Writer(&a).BigEndian64(255);
  Writer(&b).BigEndian64(256);
  EXPECT_LT(a, b);
}

TEST(Codec, TruncatedInputFailsCleanly) {
  std::string buf;
  Writer(&buf).Bytes("a longer string");
  for (size_t cut = 0; cut < buf.size(); ++cut) {
    Reader r(std::string_view(buf).substr(0, cut));
    (void)r.Bytes();
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
  }
  const std::string overlong(11, '\xff');
  Reader over(overlong);
  (void)over.Varint();
  EXPECT_FALSE(over.ok());
}

}  // namespace
}  // namespace parley
