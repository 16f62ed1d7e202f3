#include "search/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::search {
namespace {

std::vector<std::string> Terms(std::string_view text) {
  std::vector<std::string> out;
  Tokenize(
      text,
      [](void* ctx, std::string_view term, size_t, size_t) {
        static_cast<std::vector<std::string>*>(ctx)->emplace_back(term);
        return true;
      },
      &out);
  return out;
}

using V = std::vector<std::string>;

TEST(TokenizerTest, LatinWordsAreLowerCasedAndSplitOnPunctuation) {
  EXPECT_EQ(Terms("Hello, World! it's OK"), (V{"hello", "world", "it", "s", "ok"}));
  EXPECT_EQ(Terms("ÉCOLE Straße ΑΒΓ Привет"), (V{"école", "straße", "αβγ", "привет"}));
  EXPECT_EQ(Terms("ＡＢＣ１２３"), (V{"abc123"}));  // fullwidth folds to ASCII
}

TEST(TokenizerTest, CjkRunsBecomeOverlappingBigrams) {
  EXPECT_EQ(Terms("备份恢复"), (V{"备份", "份恢", "恢复"}));
  EXPECT_EQ(Terms("我"), (V{"我"}));  // a lone character is kept whole
  EXPECT_EQ(Terms("漫游。好"), (V{"漫游", "好"}));
  EXPECT_EQ(Terms("カタカナ"), (V{"カタ", "タカ", "カナ"}));
  EXPECT_EQ(Terms("한국어"), (V{"한국", "국어"}));
}

TEST(TokenizerTest, MixedTextMentionsDigitsAndEmoji) {
  EXPECT_EQ(Terms("@alice 明天deploy v2 😀🎉 #42"), (V{"alice", "明天", "deploy", "v2", "42"}));
  EXPECT_TRUE(Terms("😀 🎉 !!! ...").empty());
  EXPECT_TRUE(Terms("").empty());
}

TEST(TokenizerTest, OffsetsPointAtTheSourceBytes) {
  struct Span {
    size_t b, e;
  };
  std::vector<Span> spans;
  const std::string text = "Hi 备份恢复";
  Tokenize(
      text,
      [](void* ctx, std::string_view, size_t b, size_t e) {
        static_cast<std::vector<Span>*>(ctx)->push_back({b, e});
        return true;
      },
      &spans);
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(text.substr(spans[0].b, spans[0].e - spans[0].b), "Hi");
  EXPECT_EQ(text.substr(spans[1].b, spans[1].e - spans[1].b), "备份");
  EXPECT_EQ(text.substr(spans[3].b, spans[3].e - spans[3].b), "恢复");
}

TEST(TokenizerTest, MalformedUtf8AndHugeWordsAreSafe) {
  EXPECT_EQ(Terms(std::string("ab\xff\xfe"
                              "cd\xe4\xb8",
                              8)),
            (V{"ab", "cd"}));
  auto terms = Terms(std::string(10000, 'x'));
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_LE(terms[0].size(), kMaxTermBytes);
}

}  // namespace
}  // namespace parley::search
