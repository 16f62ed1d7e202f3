#include "search_format.h"

#include <gtest/gtest.h>

namespace parley::cli {
namespace {

TEST(SearchFormatTest, HighlightsAreMarkedByCodePoints) {
  SearchHit h;
  h.snippet = "review the 备份恢复 design";
  h.highlights = {{11, 4}, {16, 6}};
  EXPECT_EQ(MarkHighlights(h, false), "review the «备份恢复» «design»");
  EXPECT_EQ(MarkHighlights(h, true), "review the \x1b[1m备份恢复\x1b[0m \x1b[1mdesign\x1b[0m");
  h.highlights = {{100, 3}};  // out of range: shown plain
  EXPECT_EQ(MarkHighlights(h, false), "review the 备份恢复 design");
}

TEST(SearchFormatTest, ControlCharactersStayVisible) {
  SearchHit h;
  h.snippet = "a\x1b[2Jb";
  EXPECT_EQ(MarkHighlights(h, false).find('\x1b'), std::string::npos);
}

TEST(SearchFormatTest, TimesAbsoluteRelativeAndRaw) {
  const int64_t now = 1'800'000'000'000;
  EXPECT_EQ(*ParseWhen("3d", now), now - 3 * 86'400'000);
  EXPECT_EQ(*ParseWhen("12h", now), now - 12 * 3'600'000);
  EXPECT_EQ(*ParseWhen("1700000000000", now), 1'700'000'000'000);
  auto day = ParseWhen("2026-11-20", now);
  auto minute = ParseWhen("2026-11-20T14:30", now);
  auto spaced = ParseWhen("2026-11-20 14:30:00", now);
  ASSERT_TRUE(day.ok() && minute.ok() && spaced.ok());
  EXPECT_EQ(*minute - *day, (14 * 60 + 30) * 60'000);
  EXPECT_EQ(*spaced, *minute);
  for (const char* bad : {"", "yesterday", "2026-13-45", "3w", "-5", "2026-11-20T"}) {
    EXPECT_FALSE(ParseWhen(bad, now).ok()) << bad;
  }
}

}  // namespace
}  // namespace parley::cli
