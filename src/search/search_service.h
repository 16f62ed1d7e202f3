// SearchService: message search as the gateway sees it — the index and the indexer that
// feeds it. Which conversations a user may search is the core's membership rule: the
// caller passes the scope it read from ConversationsApi::Scope for this request, so a user
// removed from a group stops finding its messages at once.
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

  // Runs `query` over its scope, which the caller reads from the core API
  // (ConversationsApi::Scope) at the time of the request. A limit of 0 is the default; one
  // above the maximum is clamped to it, like sync and history.
  Result<SearchPage> Search(SearchQuery query);

  bool rebuilt() const { return rebuilt_; }
  Indexer& indexer() { return *indexer_; }
  SearchIndex& index() { return *index_; }

 private:
  explicit SearchService(const SearchConfig& config) : config_(config) {}

  const SearchConfig config_;
  bool rebuilt_ = false;
  std::unique_ptr<SearchIndex> index_;
  std::unique_ptr<Indexer> indexer_;
};

}  // namespace parley::search
