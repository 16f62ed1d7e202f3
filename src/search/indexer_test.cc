#include "search/indexer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "search/corpus.h"
#include "store/rocks_store.h"
#include "tests/support/core_test.h"

namespace parley::search {
namespace {

using std::chrono::milliseconds;

enum Knob { batch_changes, idle_poll_ms };
IndexerOptions Options(int value, Knob knob) {
  IndexerOptions o;
  if (knob == batch_changes) o.batch_changes = static_cast<size_t>(value);
  if (knob == idle_poll_ms) o.idle_poll_ms = value;
  return o;
}

class IndexerTest : public test::CoreTest {
 protected:
  std::string IndexPath(const std::string& name = "index.db") const {
    return dir_.path() + "-search/" + name;
  }
  std::unique_ptr<SearchIndex> OpenIndex(const std::string& name = "index.db") {
    bool rebuilt = false;
    auto index = SearchIndex::Open(IndexPath(name), &rebuilt);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? std::move(*index) : nullptr;
  }
  std::vector<uint64_t> Ids(SearchIndex& index, const std::string& text,
                            std::vector<ConvId> scope) {
    SearchQuery q;
    q.text = text;
    q.scope = std::move(scope);
    q.limit = 1000;
    auto page = index.Search(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<uint64_t> ids;
    if (page.ok())
      for (const auto& h : page->hits) ids.push_back(h.msg_id);
    return ids;
  }
  ConvId Group(const std::vector<UserId>& users) {
    auto g = core().conversations().CreateGroup(users[0], "g", {users.begin() + 1, users.end()});
    EXPECT_TRUE(g.ok());
    return g.ok() ? g->id : 0;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_.path() + "-search", ec);
    CoreTest::TearDown();
  }
};

TEST_F(IndexerTest, IndexesNewMessagesAndDropsRecalledOnes) {
  auto users = MakeUsers(2);
  ConvId conv = Group(users);
  auto a1 = Send(test::Id(users[0]), conv, "我们讨论备份恢复");
  Send(test::Id(users[1]), conv, "the backup is running");
  auto index = OpenIndex();
  Indexer indexer(core().store(), *index);
  ASSERT_TRUE(indexer.CatchUp().ok());
  EXPECT_EQ(Ids(*index, "备份恢复", {conv}), std::vector<uint64_t>{a1.msg_id});
  EXPECT_EQ(Ids(*index, "run", {conv}).size(), 1u);
  EXPECT_EQ(indexer.lag_changes(), 0u);

  ASSERT_TRUE(core().messages().RecallSync(test::Id(users[0]), conv, a1.seq).ok());
  ASSERT_TRUE(indexer.CatchUp().ok());
  EXPECT_TRUE(Ids(*index, "备份恢复", {conv}).empty());
  EXPECT_EQ(*index->docs(), 1u);
}

TEST_F(IndexerTest, TheBackgroundThreadFollowsCommitsWithinMoments) {
  auto users = MakeUsers(2);
  ConvId conv = Group(users);
  auto index = OpenIndex();
  Indexer indexer(core().store(), *index, Options(50, idle_poll_ms));
  indexer.Start();
  auto ack = Send(test::Id(users[0]), conv, "near real time 漫游");
  indexer.Notify(ack.msg_id);
  EXPECT_TRUE(test::WaitUntil([&] { return !Ids(*index, "漫游", {conv}).empty(); },
                              std::chrono::seconds(5), milliseconds(10)));
  indexer.Stop();
}

// Without the feed this indexer would wait a minute between polls: the commit feed is
// what wakes it.
TEST_F(IndexerTest, TheCommitFeedWakesTheIndexer) {
  CommitFeed feed;
  feed_ = &feed;
  auto users = MakeUsers(2);
  ConvId conv = Group(users);
  Send(test::Id(users[0]), conv, "first words");
  auto index = OpenIndex();
  Indexer indexer(core().store(), *index, Options(60000, idle_poll_ms));
  indexer.Start(&feed);
  auto indexed = [&](const std::string& word) {
    for (int i = 0; i < 500; ++i) {  // at most 5 s
      if (!Ids(*index, word, {conv}).empty()) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(indexed("first"));  // the first pass, at start
  Send(test::Id(users[1]), conv, "second thoughts");
  EXPECT_TRUE(indexed("thoughts"));
  indexer.Stop();
  Close();
  feed.Stop();
  feed_ = nullptr;
}

// A store whose GetMessages fails while `fail` is set.
class FlakyStore : public test::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<Result<MessageRecord>> GetMessages(std::span<const MessageKey> keys) override {
    auto out = ForwardingStore::GetMessages(keys);
    if (fail) out.back() = Status(Code::kIOError, "injected");
    return out;
  }
  std::atomic<bool> fail{false};
};

TEST_F(IndexerTest, AFailedBatchChangesNothingAndIsRetried) {
  FlakyStore* flaky = &OpenWrapped<FlakyStore>();
  auto users = MakeUsers(2);
  ConvId conv = Group(users);
  for (int i = 0; i < 30; ++i) Send(test::Id(users[0]), conv, test::Cat("word", i, " common"));
  auto index = OpenIndex();
  Indexer indexer(core().store(), *index, Options(7, batch_changes));
  flaky->fail = true;
  EXPECT_FALSE(indexer.CatchUp().ok());
  EXPECT_EQ(index->checkpoint(), 0u);
  EXPECT_EQ(*index->docs(), 0u);
  flaky->fail = false;
  ASSERT_TRUE(indexer.CatchUp().ok());
  EXPECT_EQ(*index->docs(), 30u);
  EXPECT_EQ(Ids(*index, "common", {conv}).size(), 30u);
}

// The indexer is SIGKILLed while it works through many batches; after a restart every
// message is in the index exactly once, and the result equals a fresh rebuild.
TEST_F(IndexerTest, KilledMidwayItResumesWithoutLossOrDuplicatesAndEqualsARebuild) {
  auto users = MakeUsers(3);
  ConvId g1 = Group({users[0], users[1]});
  ConvId g2 = Group({users[0], users[2]});
  constexpr int kMessages = 3000;
  SyntheticCorpus corpus(7);
  for (int i = 0; i < kMessages; ++i) {
    Send(test::Id(users[0]), i % 2 ? g1 : g2, test::Cat(corpus.NextMessage(), " uniq", i));
  }
  Close();  // the child opens the store itself

  const std::string store_dir = dir_.path();
  const std::string index_path = IndexPath();
  std::filesystem::create_directories(dir_.path() + "-search");
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = OpenRocksStore(store_dir);
    bool rebuilt;
    auto index = SearchIndex::Open(index_path, &rebuilt);
    if (!store.ok() || !index.ok()) _exit(3);
    Indexer indexer(**store, **index, Options(50, batch_changes));
    _exit(indexer.CatchUp().ok() ? 0 : 4);
  }
  // Kill it once it has committed some batches but (most likely) not all.
  uint64_t seen = 0;
  for (int i = 0; i < 3000 && seen == 0; ++i) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(index_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='checkpoint'", -1, &s,
                             nullptr) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW) {
        seen = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
      }
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
    if (seen == 0) std::this_thread::sleep_for(milliseconds(2));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_GT(seen, 0u) << "the child never committed a batch";

  auto index = OpenIndex();
  ASSERT_TRUE(index);
  EXPECT_LT(index->checkpoint(), uint64_t{1} << 40);
  Indexer indexer(core().store(), *index, Options(50, batch_changes));
  ASSERT_TRUE(indexer.CatchUp().ok());
  EXPECT_EQ(*index->docs(), static_cast<uint64_t>(kMessages));
  for (int i = 0; i < kMessages; i += 97) {
    EXPECT_EQ(Ids(*index, test::Cat("uniq", i), {g1, g2}).size(), 1u) << i;
  }

  auto rebuilt = OpenIndex("rebuilt.db");
  Indexer fresh(core().store(), *rebuilt, Options(1000, batch_changes));
  ASSERT_TRUE(fresh.CatchUp().ok());
  EXPECT_EQ(*rebuilt->docs(), *index->docs());
  for (size_t rank = 0; rank < 12; ++rank) {
    for (bool cjk : {true, false}) {
      std::string word(corpus.Word(rank, cjk));
      EXPECT_EQ(Ids(*index, word, {g1, g2}), Ids(*rebuilt, word, {g1, g2})) << word;
    }
  }
}

}  // namespace
}  // namespace parley::search
