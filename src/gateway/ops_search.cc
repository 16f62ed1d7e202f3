// The `search` op (docs/protocol.md): full-text search over the asker's conversations.
#include <chrono>

#include "gateway/dispatcher.h"
#include "protocol/encode.h"
#include "search/search_service.h"

namespace parley {

Status Dispatcher::Search(const Link& s, const ParsedRequest& r) {
  if (search_ == nullptr) return Status(Code::kUnavailable, "search is disabled on this server");
  // Everything is copied out of the frame: the job runs after it is gone.
  search::SearchQuery req;
  PARLEY_ASSIGN_OR_RETURN(std::string_view text, r.fields.String("q"));
  req.text = std::string(text);
  PARLEY_ASSIGN_OR_RETURN(std::optional<ConvId> conv, r.fields.OptUint("conv"));
  PARLEY_ASSIGN_OR_RETURN(auto from, r.fields.OptUser("from"));
  PARLEY_ASSIGN_OR_RETURN(auto since, r.fields.OptInt("since"));
  PARLEY_ASSIGN_OR_RETURN(auto until, r.fields.OptInt("until"));
  if ((since && *since < 0) || (until && *until <= 0)) {
    return Status(Code::kInvalidArgument, "since/until are milliseconds since 1970");
  }
  req.since_ms = since.value_or(0);
  req.until_ms = until.value_or(0);
  PARLEY_ASSIGN_OR_RETURN(auto order, r.fields.OptString("order"));
  if (order && *order == "relevance") {
    req.order = search::SearchOrder::kRelevance;
  } else if (order && *order != "time") {
    return Status(Code::kInvalidArgument, "order is \"time\" or \"relevance\"");
  }
  PARLEY_ASSIGN_OR_RETURN(auto limit, r.fields.OptLimit("limit"));
  req.limit = limit.value_or(0);
  PARLEY_ASSIGN_OR_RETURN(auto cursor, r.fields.OptString("cursor"));
  if (cursor) req.cursor = std::string(*cursor);
  if (Limited(s, r.id, s->state().search_bucket, nullptr, "searches")) return Status::Ok();

  const UserId me = s->state().identity->user_id;
  RunOnLane(s, r, [this, s, id = r.id, me, req = std::move(req), conv, from]() mutable -> Status {
    const auto start = std::chrono::steady_clock::now();
    // Membership now, from the core: never what the index or the client says.
    PARLEY_ASSIGN_OR_RETURN(req.scope, api_.conversations().Scope(me, conv));
    if (from) {
      PARLEY_ASSIGN_OR_RETURN(UserId sender, ResolveUser(*from));
      req.sender = sender;
    }
    PARLEY_ASSIGN_OR_RETURN(search::SearchPage page, search_->Search(std::move(req)));
    JsonWriter w = BeginReply(id);
    w.Key("hits").BeginArray();
    for (const SearchHit& h : page.hits) WriteSearchHit(w, h);
    w.EndArray().Key("next");
    if (page.next_cursor.empty()) {
      w.Null();
    } else {
      w.String(page.next_cursor);
    }
    w.EndObject();
    s->Reply(w.Take());
    metrics_.search_latency.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return Status::Ok();
  });
  return Status::Ok();
}

}  // namespace parley
