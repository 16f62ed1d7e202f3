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

TEST(Utf8, AcceptsTheEdgesOfEachRange) {
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));  // NUL is a character
  EXPECT_TRUE(IsValidUtf8("\x7F\xC2\x80\xDF\xBF"));       // U+007F, U+0080, U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80\xEF\xBF\xBF"));   // U+0800, U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF\xEE\x80\x80"));   // U+D7FF, U+E000: around surrogates
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));  // U+10000, U+10FFFF
}

TEST(Utf8, RejectsOverlongsSurrogatesAndTruncations) {
  // Overlong forms of every length.
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // U+007F in two bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
  // Surrogates, alone and as a CESU-8 pair.
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));
  // Bytes that never occur.
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  // Truncated sequences: at the end, and followed by ASCII or another lead byte.
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(
      IsValidUtf8("\xE6"
                  "a"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\xC3\xA9"));
  // Too many continuation bytes.
  EXPECT_FALSE(IsValidUtf8("\xC3\xA9\xA9"));
}

TEST(Utf8, FindsAnErrorDeepInALongText) {
  // Long enough for the vectorised path, with the fault past the first blocks.
  std::string text;
  for (int i = 0; i < 50; ++i) text += "héllo wörld 消息 \xF0\x9F\x98\x80 ";
  EXPECT_TRUE(IsValidUtf8(text));
  for (size_t at : {text.size() - 1, text.size() / 2, size_t{63}, size_t{64}}) {
    std::string broken = text;
    broken[at] = '\xFF';
    EXPECT_FALSE(IsValidUtf8(broken)) << "at " << at;
  }
  std::string truncated = text + "\xE6\xB6";
  EXPECT_FALSE(IsValidUtf8(truncated));
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
