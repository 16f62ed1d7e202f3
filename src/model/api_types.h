// Request and reply types of the service API: what a connection asks of the core and what
// it gets back. Model types only; the wire encoding lives in protocol/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "model/records.h"

namespace parley {

// How an asynchronous call completes: once, with its result.
template <typename T>
using Callback = std::function<void(Result<T>)>;

// Who is asking: the authenticated user and the device they asked from.
struct Identity {
  UserId user_id = 0;
  std::string device_id;
};

// What a token check found (AccountsApi::CheckToken).
struct TokenCheck {
  Identity who;
  bool expired = false;    // unused for longer than the lifetime: refuse, then Touch deletes it
  bool touch_due = false;  // the device's last-seen time should be moved (Touch)
};

struct LoginResult {
  UserId user_id = 0;
  std::string device_id;
  std::string token;  // opaque bearer token; shown once, stored only as a digest
};

struct SendRequest {
  ConvId conv_id = 0;
  std::string client_msg_id;  // required: retries with the same id are idempotent
  MessageKind kind = MessageKind::kText;
  std::string body;
  // Stored in place of `body` when set (file and image messages: the server's description
  // of each attachment the client named); `body` stays what the idempotency check compares.
  std::string stored_body{};  // (an initializer: brace-initialised requests may leave it out)
  // The connection the request came from (the gateway's session id, unique for the
  // process's lifetime), 0 = none. The sender's own inbox event is not pushed back to
  // that connection: its ack carries the event's user_seq instead (SendAck::user_seq).
  uint64_t origin = 0;
};

struct SendAck {
  ConvId conv_id = 0;
  Seq seq = 0;
  uint64_t msg_id = 0;
  int64_t server_ms = 0;
  bool duplicate = false;  // a retry: the first acknowledgement, nothing new stored
  // The user_seq of the sender's own inbox event for this message; 0 = none: a
  // read-fan-out group gives the sender no event, and a duplicate's re-ack does not know
  // it (the event, if any, was appended by the first attempt).
  Seq user_seq = 0;
};

struct EditReply {
  ConvId conv_id = 0;
  Seq seq = 0;
  int64_t edited_ms = 0;  // the message's edit time after the call (0: never edited)
};

struct ReadReply {
  Seq read_seq = 0;  // the cursor after the call (unchanged if the request was older)
};

struct SyncRequest {
  Seq since = 0;             // the last user_seq the device processed
  size_t limit = 0;          // 0: the configured default
  uint64_t heads_since = 0;  // the `heads_next` of the previous reply (read fan-out)
};

struct SyncItem {
  InboxEvent event;
  std::optional<MessageRecord> message;  // for events that carry one (EventCarriesMessage)
};

struct HeadInfo {
  ConvId conv_id = 0;
  Seq last_seq = 0;
  int64_t last_ms = 0;
};

struct SyncReply {
  // The device's cursor is older than the trimmed sync timeline: refetch the
  // conversation list, roam history, and continue from `next`.
  bool reset = false;
  std::vector<SyncItem> items;
  Seq next = 0;  // pass as `since` next time
  bool has_more = false;
  std::vector<HeadInfo> heads;  // read-fan-out conversations that moved
  uint64_t heads_next = 0;      // pass as `heads_since` next time
};

struct HistoryRequest {
  enum class Mode { kLatest, kBefore, kAfter, kAroundTime };
  ConvId conv_id = 0;
  Mode mode = Mode::kLatest;
  Seq seq = 0;          // kBefore: messages with conv_seq < seq; kAfter: > seq
  int64_t time_ms = 0;  // kAroundTime: centred on the first message at or after this time
  size_t limit = 0;     // 0: the configured default
};

struct HistoryPage {
  std::vector<MessageRecord> messages;  // ascending conv_seq
  bool has_more_before = false;
  bool has_more_after = false;
  Seq head_seq = 0;
};

// One conversation and the asker's role in it (conv.get).
struct ConversationInfo {
  ConversationRecord conv;
  Role role = Role::kMember;
};

struct ConversationSummary {
  ConversationRecord conv;
  ConvHead head;
  Role role = Role::kMember;
  UserId peer = 0;  // direct conversations: the other member
  Seq read_seq = 0;
  uint64_t unread = 0;
  std::optional<MessageRecord> last_message;
};

// One `search` hit (docs/protocol.md, search): the server's index produces it, the wire
// carries it (`ts` is `ms`), and clients read it back.
struct SearchHit {
  uint64_t msg_id = 0;
  ConvId conv = 0;
  Seq seq = 0;
  UserId sender = 0;
  int64_t ms = 0;
  std::string snippet;  // plain text around the matches (… where cut)
  // Matched spans of `snippet`, as [start, length] in Unicode code points.
  std::vector<std::pair<uint32_t, uint32_t>> highlights;
  double score = 0;  // bm25 as FTS5 gives it (lower is better); not sent on the wire
};

}  // namespace parley
