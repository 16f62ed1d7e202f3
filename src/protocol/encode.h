// Server-side encoders: records and replies → JSON frames, with the field names of
// docs/protocol.md §1-2. The client side reads them back with decode.h.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"
#include "protocol/json_writer.h"
#include "service/types.h"
#include "store/record_names.h"

namespace parley {

// A request id as the client sent it (an integer or a short string); echoed in the reply.
using RequestId = std::variant<std::monostate, uint64_t, std::string>;

// One `search` hit (docs/protocol.md, search), as the server writes and clients read it.
struct SearchHitInfo {
  ConvId conv = 0;
  Seq seq = 0;
  uint64_t msg_id = 0;
  UserId sender = 0;
  int64_t ts = 0;
  std::string snippet;
  std::vector<std::pair<uint32_t, uint32_t>> highlights;  // [start, length] in code points
};
std::string_view EventTypeName(EventType type);

// Wire error code of a status ("not_member"); see docs/protocol.md §4.
std::string_view WireErrorCode(Code code);

void WriteMessage(JsonWriter& w, const MessageRecord& m);
// `message_json`: the event's message already encoded with WriteMessage, or empty.
void WriteEvent(JsonWriter& w, const InboxEvent& e, std::string_view message_json);
void WriteConversation(JsonWriter& w, const ConversationRecord& c);
void WriteSummary(JsonWriter& w, const ConversationSummary& s);
void WriteMember(JsonWriter& w, const MemberRecord& m);
void WriteSearchHit(JsonWriter& w, const SearchHitInfo& h);

// Starts a success reply: `{"id":ID,"ok":true` — add fields, then EndObject().
JsonWriter BeginReply(const RequestId& id);
// A complete success reply with no fields.
std::string EmptyReply(const RequestId& id);
// A complete error reply; retry_after_ms < 0 leaves the field out.
std::string ErrorReply(const RequestId& id, const Status& status, int64_t retry_after_ms = -1);

// Pushes (docs/protocol.md §1).
std::string EventPush(const InboxEvent& e, std::string_view message_json);
std::string HeadPush(ConvId conv, Seq seq, int64_t ts);
std::string TypingPush(ConvId conv, UserId user);
std::string ResyncPush(std::string_view reason);

}  // namespace parley
