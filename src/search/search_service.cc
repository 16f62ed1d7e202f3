#include "search/search_service.h"

#include <algorithm>

namespace parley::search {

Result<std::unique_ptr<SearchService>> SearchService::Open(Store& store,
                                                           const std::string& index_path,
                                                           const SearchConfig& config,
                                                           IndexerOptions indexer_options) {
  std::unique_ptr<SearchService> service(new SearchService(store, config));
  PARLEY_ASSIGN_OR_RETURN(service->index_, SearchIndex::Open(index_path, &service->rebuilt_));
  indexer_options.batch_changes = config.batch_changes;
  indexer_options.idle_poll_ms = config.idle_poll_ms;
  service->indexer_ =
      std::make_unique<Indexer>(store, *service->index_, std::move(indexer_options));
  return service;
}

Result<SearchPage> SearchService::Search(UserId me, const SearchRequest& request) {
  if (request.until_ms != 0 && request.until_ms <= request.since_ms) {
    return Status(Code::kInvalidArgument, "until must be after since");
  }
  SearchQuery q;
  q.text = request.text;
  q.sender = request.sender;
  q.since_ms = request.since_ms;
  q.until_ms = request.until_ms;
  q.order = request.order;
  // Like sync and history: a limit above the maximum is clamped to it.
  q.limit = request.limit == 0 ? config_.default_limit : std::min(request.limit, config_.max_limit);
  q.cursor = request.cursor;
  // Membership now, from the store: never what the index or the client says.
  PARLEY_ASSIGN_OR_RETURN(auto memberships, store_.ListUserConversations(me));
  for (const MemberRecord& m : memberships) {
    if (!request.conv || *request.conv == m.conv_id) q.scope.push_back(m.conv_id);
  }
  if (request.conv && q.scope.empty()) {
    return Status(Code::kNotMember,
                  "not a member of conversation " + std::to_string(*request.conv));
  }
  return index_->Search(q);
}

}  // namespace parley::search
