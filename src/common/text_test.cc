#include "common/text.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("hello"));
  EXPECT_TRUE(IsValidUtf8("消息漫游 backup 恢复"));
  EXPECT_TRUE(IsValidUtf8("emoji \xF0\x9F\x98\x80"));
}

TEST(Utf8, RejectsMalformedText) {
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("abc\xE6\xB6"));       // truncated sequence
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

TEST(UserName, NormalisesAndValidates) {
  EXPECT_EQ(NormalizeUserName("Alice"), "alice");
  EXPECT_EQ(NormalizeUserName("bob_1.x-y"), "bob_1.x-y");
  EXPECT_EQ(NormalizeUserName("ab"), "");
  EXPECT_EQ(NormalizeUserName("1abc"), "");
  EXPECT_EQ(NormalizeUserName("al ice"), "");
  EXPECT_EQ(NormalizeUserName("名字名字"), "");
  EXPECT_EQ(NormalizeUserName(std::string(33, 'a')), "");
}

TEST(ClientId, RejectsControlAndSpace) {
  EXPECT_TRUE(IsValidClientId("phone-1", 64));
  EXPECT_FALSE(IsValidClientId("", 64));
  EXPECT_FALSE(IsValidClientId("a b", 64));
  EXPECT_FALSE(IsValidClientId("a\nb", 64));
  EXPECT_FALSE(IsValidClientId(std::string(65, 'x'), 64));
}

}  // namespace
}  // namespace parley
