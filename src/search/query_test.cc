#include "search/query.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley::search {
namespace {

TEST(QueryTest, WordsAndPhrasesAreQuotedAndJoined) {
  EXPECT_EQ(*BodyExpression("备份 deploy"), R"q(body : ("备份" AND "deploy"))q");
  EXPECT_EQ(*BodyExpression(R"q("backup restore" now)q"),
            R"q(body : ("backup restore" AND "now"))q");
}

TEST(QueryTest, SyntaxTypedByUsersIsJustText) {
  // FTS5 operators and quotes are never interpreted.
  EXPECT_EQ(*BodyExpression("a* OR NEAR(b) col:x"),
            R"q(body : ("a*" AND "OR" AND "NEAR(b)" AND "col:x"))q");
  EXPECT_EQ(*BodyExpression(R"q(say"hi)q"), R"q(body : ("say" AND "hi"))q");
}

// Found by fuzz/search_query_fuzz.cc: a NUL inside an FTS5 string ended the expression for
// SQLite (a syntax error, answered as a storage error). Control characters separate words.
TEST(QueryTest, ControlCharactersSeparateWords) {
  EXPECT_EQ(*BodyExpression(std::string_view("ab\0cd\x01"
                                             "ef",
                                             8)),
            R"q(body : ("ab" AND "cd" AND "ef"))q");
  // Inside a phrase too (the phrase runs to the end when its quote is not closed).
  EXPECT_EQ(*BodyExpression(std::string_view("\"ab\0cd", 6)), R"q(body : ("ab cd"))q");
}

TEST(QueryTest, NothingSearchableIsAnError) {
  EXPECT_EQ(BodyExpression("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BodyExpression("😀 !!").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BodyExpression(std::string(kMaxQueryBytes + 1, 'a')).status().code(), Code::kTooLarge);
  std::string many;
  for (size_t i = 0; i <= kMaxQueryTerms; ++i) many += "w ";
  EXPECT_EQ(BodyExpression(many).status().code(), Code::kInvalidArgument);
  // Emoji next to words are dropped, the words kept.
  EXPECT_EQ(*BodyExpression("😀 ok"), R"q(body : ("ok"))q");
}

TEST(QueryTest, IdLists) {
  std::vector<uint64_t> ids = {3, 17};
  EXPECT_EQ(IdsExpression("conv", ids), "conv : (3 OR 17)");
}

}  // namespace
}  // namespace parley::search
