#include "search/search_service.h"

#include <algorithm>

namespace parley::search {

Result<std::unique_ptr<SearchService>> SearchService::Open(Store& store,
                                                           const std::string& index_path,
                                                           const SearchConfig& config,
                                                           IndexerOptions indexer_options) {
  std::unique_ptr<SearchService> service(new SearchService(config));
  PARLEY_ASSIGN_OR_RETURN(service->index_, SearchIndex::Open(index_path, &service->rebuilt_));
  indexer_options.batch_changes = config.batch_changes;
  indexer_options.idle_poll_ms = config.idle_poll_ms;
  service->indexer_ =
      std::make_unique<Indexer>(store, *service->index_, std::move(indexer_options));
  return service;
}

Result<SearchPage> SearchService::Search(SearchQuery query) {
  if (query.until_ms != 0 && query.until_ms <= query.since_ms) {
    return Status(Code::kInvalidArgument, "until must be after since");
  }
  query.limit = query.limit == 0 ? config_.default_limit : std::min(query.limit, config_.max_limit);
  return index_->Search(query);
}

}  // namespace parley::search
