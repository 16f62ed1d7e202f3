#include "search/search_index.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>

#include "tests/support/temp_dir.h"

namespace parley::search {
namespace {

class SearchIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    index_.reset();
    bool rebuilt = false;
    auto index = SearchIndex::Open(path(), &rebuilt);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(*index);
    rebuilt_ = rebuilt;
  }
  std::string path() const { return dir_.path() + "/search/index.db"; }

  // Adds one message per body to conv 1 from sender 7 unless told otherwise.
  void Add(const std::vector<std::string>& bodies, ConvId conv = 1, UserId sender = 7) {
    IndexBatch b;
    for (const auto& body : bodies) {
      ++next_id_;
      b.upserts.push_back({next_id_, conv, next_id_, sender, 1000 * int64_t(next_id_), body});
    }
    b.checkpoint = next_id_;
    ASSERT_TRUE(index_->Apply(b).ok());
  }
  SearchPage Find(std::string text, std::vector<ConvId> scope = {1},
                  SearchOrder order = SearchOrder::kNewest, size_t limit = 20,
                  std::string cursor = "") {
    SearchQuery q;
    q.text = std::move(text);
    q.scope = std::move(scope);
    q.order = order;
    q.limit = limit;
    q.cursor = std::move(cursor);
    auto page = index_->Search(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? *page : SearchPage{};
  }
  size_t Count(std::string text, std::vector<ConvId> scope = {1}) {
    return Find(std::move(text), std::move(scope), SearchOrder::kNewest, 100).hits.size();
  }

  test::TempDir dir_;
  std::unique_ptr<SearchIndex> index_;
  bool rebuilt_ = false;
  uint64_t next_id_ = 0;
};

TEST_F(SearchIndexTest, ChineseIsFoundByAnySubstringOfTwoOrMoreCharacters) {
  Add({"我们明天下午讨论一下备份恢复的方案", "支持历史消息漫游到新设备", "恢复出厂设置"});
  EXPECT_EQ(Count("备份恢复"), 1u);
  EXPECT_EQ(Count("漫游"), 1u);
  EXPECT_EQ(Count("份恢复的方"), 1u);  // across word boundaries
  EXPECT_EQ(Count("恢复"), 2u);
  EXPECT_EQ(Count("复备"), 0u);         // the characters, but not adjacent
  EXPECT_EQ(Count("备份 新设备"), 0u);  // every word must match
}

TEST_F(SearchIndexTest, EnglishIsCaseInsensitiveAndStemmed) {
  Add({"The servers are RUNNING fine", "one server ran out of disk", "Deployment done"});
  EXPECT_EQ(Count("server"), 2u);
  EXPECT_EQ(Count("running"), 1u);
  EXPECT_EQ(Count("runs"), 1u);    // run ~ running
  EXPECT_EQ(Count("DEPLOY"), 0u);  // porter: deploy != deployment
  EXPECT_EQ(Count("deployment"), 1u);
  EXPECT_EQ(Count("\"servers are running\""), 1u);  // a phrase
  EXPECT_EQ(Count("\"running are\""), 0u);
}

TEST_F(SearchIndexTest, MixedTextMentionsDigitsAndEmoji) {
  Add({"@alice 明天deploy v2.3 到生产 🎉🎉", "ticket #4711 已修复 👍"});
  EXPECT_EQ(Count("alice"), 1u);
  EXPECT_EQ(Count("@alice"), 1u);
  EXPECT_EQ(Count("明天deploy"), 1u);
  EXPECT_EQ(Count("4711"), 1u);
  EXPECT_EQ(Count("已修复 👍"), 1u);
}

TEST_F(SearchIndexTest, HitsCarryPositionAndAHighlightedSnippet) {
  Add({"please review the 备份恢复 design"}, 3, 9);
  auto page = Find("备份恢复", {3});
  ASSERT_EQ(page.hits.size(), 1u);
  const SearchHit& h = page.hits[0];
  EXPECT_EQ(h.conv, 3u);
  EXPECT_EQ(h.sender, 9u);
  EXPECT_EQ(h.seq, h.msg_id);
  EXPECT_EQ(h.snippet, "please review the 备份恢复 design");
  ASSERT_EQ(h.highlights.size(), 1u);
  EXPECT_EQ(h.highlights[0], std::make_pair(18u, 4u));  // code points, not bytes
}

TEST_F(SearchIndexTest, ScopeAndFiltersAreNeverBypassed) {
  Add({"secret plan"}, 1, 7);
  Add({"secret plan"}, 2, 8);
  EXPECT_EQ(Count("secret", {1}), 1u);
  EXPECT_EQ(Count("secret", {2}), 1u);
  EXPECT_EQ(Count("secret", {1, 2}), 2u);
  EXPECT_EQ(Count("secret", {}), 0u);
  EXPECT_EQ(Count("secret", {3}), 0u);
  SearchQuery q;
  q.text = "secret";
  q.scope = {1, 2};
  q.sender = 8;
  EXPECT_EQ(index_->Search(q)->hits.size(), 1u);
  q.sender.reset();
  q.since_ms = 2000;  // ms = 1000 * msg_id: only the second
  EXPECT_EQ(index_->Search(q)->hits.size(), 1u);
  q.since_ms = 0;
  q.until_ms = 2000;
  EXPECT_EQ(index_->Search(q)->hits.size(), 1u);
}

TEST_F(SearchIndexTest, PagingVisitsEveryHitOnceInBothOrders) {
  std::vector<std::string> bodies;
  for (int i = 0; i < 45; ++i) bodies.push_back(i % 3 == 0 ? "sync sync sync" : "sync once");
  Add(bodies);
  for (SearchOrder order : {SearchOrder::kNewest, SearchOrder::kRelevance}) {
    std::set<uint64_t> seen;
    std::string cursor;
    uint64_t last = UINT64_MAX;
    for (int page_no = 0; page_no < 10; ++page_no) {
      auto page = Find("sync", {1}, order, 10, cursor);
      for (const auto& h : page.hits) {
        EXPECT_TRUE(seen.insert(h.msg_id).second) << "duplicate " << h.msg_id;
        if (order == SearchOrder::kNewest) {
          EXPECT_LT(h.msg_id, last);
        }
        last = h.msg_id;
      }
      cursor = page.next_cursor;
      if (cursor.empty()) break;
      // Newest-first pages are not shifted by new hits (relevance pages are offsets).
      if (order == SearchOrder::kNewest) Add({"sync arrives meanwhile"});
    }
    EXPECT_GE(seen.size(), 45u);
  }
  SearchQuery q;
  q.text = "sync";
  q.scope = {1};
  for (std::string bad : {"x1", "n", "nabc", "r5"}) {
    q.cursor = bad;
    EXPECT_EQ(index_->Search(q).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST_F(SearchIndexTest, RemovalsAndReplacementsAndTheCheckpointPersist) {
  Add({"old words here", "keep me"});
  IndexBatch b;
  b.removals = {2};
  b.upserts.push_back({1, 1, 1, 7, 1000, "new text now", /*replace=*/true});
  b.checkpoint = 10;
  ASSERT_TRUE(index_->Apply(b).ok());
  EXPECT_EQ(Count("old"), 0u);
  EXPECT_EQ(Count("new"), 1u);
  EXPECT_EQ(Count("keep"), 0u);
  EXPECT_EQ(*index_->docs(), 1u);
  Open();
  EXPECT_FALSE(rebuilt_);
  EXPECT_EQ(index_->checkpoint(), 10u);
  EXPECT_EQ(Count("new"), 1u);
}

TEST_F(SearchIndexTest, AnIndexOfAnotherFormatIsRebuiltEmpty) {
  Add({"hello"});
  index_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = 999 WHERE key = 'format'", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Open();
  EXPECT_TRUE(rebuilt_);
  EXPECT_EQ(index_->checkpoint(), 0u);
  EXPECT_EQ(Count("hello"), 0u);
}

TEST_F(SearchIndexTest, BadQueriesAreErrors) {
  SearchQuery q;
  q.scope = {1};
  for (std::string text :
       {std::string(), std::string("   "), std::string("🎉"), std::string(600, 'a')}) {
    q.text = text;
    EXPECT_FALSE(index_->Search(q).ok()) << text;
  }
}

}  // namespace
}  // namespace parley::search
