// SearchIndex: the full-text index of message bodies, an SQLite FTS5 table in its own
// file beside the store (DATA/search/index.db). It is derived data: the store is the
// truth, and the index can always be rebuilt from the store's change feed.
//
// The table holds one row per live text message, rowid = msg_id, with columns `body`
// (indexed with our CJK-aware tokenizer plus English stemming), `conv` and `sender`
// (indexed ids, so scoping and filters are part of the match, not a scan) and unindexed
// `seq` and `ts`. A small table keeps the format version and the checkpoint: the last
// change-feed position whose effects are in the index, always written in the same
// transaction as those effects, so a crash can neither skip nor repeat a change.
//
// Thread-safety: Apply() from one thread at a time (the indexer); Search(), checkpoint()
// and docs() from any thread (each search borrows a read connection; SQLite's WAL mode
// lets reads run while the indexer writes).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/api_types.h"
#include "model/records.h"

struct sqlite3;

namespace parley::search {

// Bump when the tokenizer or schema changes: an index of another version is rebuilt.
inline constexpr int kIndexFormat = 1;

struct IndexedMessage {
  uint64_t msg_id = 0;
  ConvId conv = 0;
  Seq seq = 0;
  UserId sender = 0;
  int64_t ms = 0;
  std::string body;
  bool replace = false;  // an edit: drop the row with this msg_id first
};

// One indexer step: rows to add or replace, rows to remove, and the new checkpoint.
struct IndexBatch {
  std::vector<IndexedMessage> upserts;
  std::vector<uint64_t> removals;  // msg_ids
  uint64_t checkpoint = 0;
};

enum class SearchOrder { kNewest, kRelevance };

struct SearchQuery {
  std::string text;
  std::vector<ConvId> scope;  // the conversations the asker may see (after any conv filter)
  std::optional<UserId> sender;
  int64_t since_ms = 0;  // 0: no bound
  int64_t until_ms = 0;  // exclusive; 0: no bound
  SearchOrder order = SearchOrder::kNewest;
  size_t limit = 20;
  std::string cursor;  // from a previous page's next_cursor; empty for the first page
};

struct SearchPage {
  std::vector<SearchHit> hits;
  std::string next_cursor;  // empty when there is nothing more
};

class SearchIndex {
 public:
  // Opens or creates the index file. An index of another format, or one that cannot be
  // read, is deleted and created empty (checkpoint 0): `*rebuilt` says so, and the
  // indexer then refills it from the change feed.
  static Result<std::unique_ptr<SearchIndex>> Open(const std::string& path, bool* rebuilt);
  ~SearchIndex();

  // Applies the batch and moves the checkpoint, atomically.
  Status Apply(const IndexBatch& batch);

  Result<SearchPage> Search(const SearchQuery& query);

  uint64_t checkpoint() const;
  Result<uint64_t> docs();

 private:
  class Conn;
  explicit SearchIndex(std::string path);
  Result<std::unique_ptr<Conn>> Connect();
  std::unique_ptr<Conn> Borrow();
  void Return(std::unique_ptr<Conn> conn);

  const std::string path_;
  std::unique_ptr<Conn> writer_;
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Conn>> idle_readers_;
  mutable std::mutex checkpoint_mu_;
  uint64_t checkpoint_ = 0;
};

}  // namespace parley::search
