// Client-side decoders: server frames (docs/protocol.md) → the same typed records the
// server encodes from, so both sides share one vocabulary. Malformed input is an error,
// never a crash.
//
// Thread-safety: pure functions (each call uses a thread-local parser).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "service/types.h"

namespace parley {

struct UserInfo {
  UserId id = 0;
  std::string name;
};

struct LoginReply {
  UserId user = 0;
  std::string name;
  std::string device;
  std::string token;  // empty for `auth`
};

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

// What kind of frame this is, without decoding it fully.
struct FrameHeader {
  bool is_push = false;
  bool has_id = false;
  uint64_t id = 0;  // integer ids only (the client library uses integers)
  bool ok = false;
};
Result<FrameHeader> DecodeHeader(std::string_view frame);

// The error of a failed reply: its wire code mapped back to a Code; *retry_after_ms is
// set for rate_limited (else -1).
Status DecodeError(std::string_view frame, int64_t* retry_after_ms = nullptr);
// The Code of a wire error name (kInternal if unknown).
Code CodeFromWire(std::string_view name);

Result<LoginReply> DecodeLogin(std::string_view frame);
Result<UserInfo> DecodeRegister(std::string_view frame);
Result<std::vector<UserInfo>> DecodeUsers(std::string_view frame);
Result<SendAck> DecodeSendAck(std::string_view frame);
Result<SyncReply> DecodeSync(std::string_view frame);
Result<HistoryPage> DecodeHistory(std::string_view frame);
Result<std::vector<ConversationSummary>> DecodeConvs(std::string_view frame);
Result<ConversationRecord> DecodeConversationReply(std::string_view frame);
Result<std::vector<MemberRecord>> DecodeMembers(std::string_view frame);
Result<ReadReply> DecodeRead(std::string_view frame);
Result<Push> DecodePush(std::string_view frame);

}  // namespace parley
