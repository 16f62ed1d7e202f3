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
#include "model/api_types.h"
#include "model/names.h"
#include "protocol/json_writer.h"

namespace parley {

// A request id as the client sent it (an integer or a short string); echoed in the reply.
using RequestId = std::variant<std::monostate, uint64_t, std::string>;

void WriteMessage(JsonWriter& w, const MessageRecord& m);
// `message_json`: the event's message already encoded with WriteMessage, or empty.
void WriteEvent(JsonWriter& w, const InboxEvent& e, std::string_view message_json);
void WriteConversation(JsonWriter& w, const ConversationRecord& c);
void WriteSummary(JsonWriter& w, const ConversationSummary& s);
void WriteMember(JsonWriter& w, const MemberRecord& m);
void WriteSearchHit(JsonWriter& w, const SearchHit& h);

// Starts a success reply: `{"id":ID,"ok":true` — add fields, then EndObject().
JsonWriter BeginReply(const RequestId& id);
// A complete success reply with no fields.
std::string EmptyReply(const RequestId& id);
// Replies whose client side is in decode.h: `send` (DecodeSendAck) and conv.open /
// conv.create (DecodeConversationReply).
std::string SendAckReply(const RequestId& id, const SendAck& ack);
std::string ConversationReply(const RequestId& id, const ConversationRecord& c);
// A complete error reply; retry_after_ms < 0 leaves the field out.
std::string ErrorReply(const RequestId& id, const Status& status, int64_t retry_after_ms = -1);

// Pushes (docs/protocol.md §1).
// The `push` value of a batch of pushes: {"push":"events","events":[P1,P2,…]}, each Pi one
// complete push of the forms below, for clients that asked for batches (push_batch).
inline constexpr std::string_view kPushBatchKind = "events";
inline constexpr std::string_view kPushBatchOpen = R"({"push":"events","events":[)";
inline constexpr std::string_view kPushBatchClose = "]}";
std::string EventPush(const InboxEvent& e, std::string_view message_json);
std::string HeadPush(ConvId conv, Seq seq, int64_t ts);
std::string TypingPush(ConvId conv, UserId user);
std::string ResyncPush(std::string_view reason);

}  // namespace parley
