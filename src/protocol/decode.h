// Client-side decoders: server frames (docs/protocol.md §1-2) → the same typed records the
// server encodes from (encode.h), so both sides share one vocabulary.
//
// Rules, the same for every decoder:
// - Malformed input (not JSON, not an object, a required field missing, a field of the
//   wrong type) is a Status with Code::kCorruption ("malformed server frame: …"), never a
//   crash. kCorruption rather than kInvalidArgument on purpose: a caller must be able to
//   tell "the server refused my request" (invalid_argument on the wire) from "the reply
//   could not be read" (a server bug or a truncated frame) — the reliable client retries
//   the second and gives up on the first.
// - A reply decoder given a failed reply ({"ok":false,…}) returns the error it carries,
//   its wire code mapped back to a Code (CodeFromWire).
// - Unknown fields are ignored and optional fields keep their defaults (forward
//   compatibility, as the protocol promises). Events of an unknown `type` are skipped in
//   sync replies and decode as Push::Kind::kUnknown in pushes.
//
// Thread-safety: pure functions (each call uses a thread-local parser).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/api_types.h"
#include "protocol/encode.h"

namespace parley {

// A user as the `register` and `users` ops return it.
struct UserInfo {
  UserId id = 0;
  std::string name;
};
using User = UserInfo;

// The reply of `login` (with token) and `auth` (token empty).
struct LoginReply {
  UserId user = 0;
  std::string name;
  std::string device;
  std::string token;
};

// The fields of a failed reply. (Not called ErrorReply: encode.h has a function of that
// name in this namespace.)
struct ErrorInfo {
  std::string code;             // the wire code, e.g. "rate_limited"
  std::string message;          // human-readable
  int64_t retry_after_ms = -1;  // only with rate_limited; -1 if absent
};

// The reply of `conv.get`.

// A server push (a frame with a "push" field).
struct Push {
  enum class Kind { kEvent, kHead, kTyping, kResync, kUnknown };
  Kind kind = Kind::kUnknown;
  SyncItem item;       // kEvent
  ConvId conv = 0;     // kHead, kTyping
  Seq seq = 0;         // kHead
  int64_t ts = 0;      // kHead
  UserId user = 0;     // kTyping
  std::string reason;  // kResync
};

// What kind of frame this is, without decoding the rest (one parse, for routing).
// A page of `search` hits.
struct SearchResult {
  std::vector<SearchHit> hits;
  std::string next;  // empty: no more pages
};

struct FrameHeader {
  bool is_push = false;
  bool has_id = false;  // an integer id (the client library only sends integer ids)
  uint64_t id = 0;
  bool ok = false;  // the reply's "ok"
};
Result<FrameHeader> DecodeHeader(std::string_view frame);

// The Code of a wire error name ("not_member" → kNotMember); kInternal if unknown.
Code CodeFromWire(std::string_view name);
// The error of a failed reply as a Status; *retry_after_ms gets its retry hint (-1 if
// none). A frame that cannot be read gives kCorruption.
Status DecodeError(std::string_view frame, int64_t* retry_after_ms = nullptr);
Result<ErrorInfo> DecodeErrorInfo(std::string_view frame);

Result<LoginReply> DecodeLogin(std::string_view frame);  // login and auth
Result<UserInfo> DecodeRegister(std::string_view frame);
Result<std::vector<UserInfo>> DecodeUsers(std::string_view frame);
Result<SendAck> DecodeSendAck(std::string_view frame);
Result<SyncReply> DecodeSync(std::string_view frame);
Result<HistoryPage> DecodeHistory(std::string_view frame);
Result<std::vector<ConversationSummary>> DecodeConvs(std::string_view frame);
// conv.open and conv.create: {"conversation": …}.
Result<ConversationRecord> DecodeConversationReply(std::string_view frame);
Result<ConversationInfo> DecodeConvGet(std::string_view frame);
Result<std::vector<MemberRecord>> DecodeMembers(std::string_view frame);
Result<ReadReply> DecodeRead(std::string_view frame);
Result<EditReply> DecodeEdit(std::string_view frame);
Result<SearchResult> DecodeSearch(std::string_view frame);
// ping: the server's clock (ms).
Result<int64_t> DecodePing(std::string_view frame);
// One push of the single form ({"push":"event",…}, "head", "typing", "resync"). A batch
// frame is not one (use DecodePushes).
Result<Push> DecodePush(std::string_view frame);
// Every push of a push frame, in order: the single form (one push) or a batch
// ({"push":"events","events":[P1,P2,…]}, each Pi a single-form push object; clients that
// ask for batches get them, docs/protocol.md §1). A batch that is malformed anywhere —
// "events" missing or not an array, an element that is not a push object, a nested
// batch — is kCorruption as a whole: the caller then pulls with sync.
Result<std::vector<Push>> DecodePushes(std::string_view frame);

}  // namespace parley
