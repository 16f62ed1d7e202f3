// SearchService: message search as the gateway sees it — the index, the indexer that
// feeds it, and the rule that a user only ever searches the conversations he is a member
// of now (a user removed from a group stops finding its messages at once).
//
// Thread-safety: Search() and Notify() from any thread; Start/Stop from one.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "search/indexer.h"
#include "search/search_index.h"
#include "store/store.h"

namespace parley::search {

struct SearchConfig {
  bool enabled = true;
  size_t batch_changes = 4096;  // changes per index transaction
  int idle_poll_ms = 500;
  size_t default_limit = 20;
  size_t max_limit = 100;
};

struct SearchRequest {
  std::string text;
  std::optional<ConvId> conv;    // only this conversation (must be a member)
  std::optional<UserId> sender;  // only messages from this user
  int64_t since_ms = 0;
  int64_t until_ms = 0;
  SearchOrder order = SearchOrder::kNewest;
  size_t limit = 0;  // 0: the default
  std::string cursor;
};

class SearchService {
 public:
  // Opens (or rebuilds) the index at `index_path` and prepares the indexer; Start() runs it.
  static Result<std::unique_ptr<SearchService>> Open(Store& store, const std::string& index_path,
                                                     const SearchConfig& config,
                                                     IndexerOptions indexer_options = {});

  // `feed` (may be null) wakes the indexer after each commit; see Indexer::Start.
  void Start(CommitFeed* feed = nullptr) { indexer_->Start(feed); }
  void Stop() { indexer_->Stop(); }
  void Notify(uint64_t committed_gseq) { indexer_->Notify(committed_gseq); }

  Result<SearchPage> Search(UserId me, const SearchRequest& request);

  bool rebuilt() const { return rebuilt_; }
  Indexer& indexer() { return *indexer_; }
  SearchIndex& index() { return *index_; }

 private:
  SearchService(Store& store, const SearchConfig& config) : store_(store), config_(config) {}

  Store& store_;
  const SearchConfig config_;
  bool rebuilt_ = false;
  std::unique_ptr<SearchIndex> index_;
  std::unique_ptr<Indexer> indexer_;
};

}  // namespace parley::search
