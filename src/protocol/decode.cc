#include "protocol/decode.h"

#include <simdjson.h>

#include "protocol/encode.h"

namespace parley {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

Status Malformed(std::string_view what) {
  return Status(Code::kCorruption, "malformed server frame: " + std::string(what));
}

Result<object> ParseObject(std::string_view frame) {
  thread_local simdjson::dom::parser parser;
  element root;
  if (parser.parse(frame.data(), frame.size()).get(root) != simdjson::SUCCESS) {
    return Malformed("not JSON");
  }
  object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return Malformed("not an object");
  return obj;
}

// Field readers: absent fields keep their defaults; present ones must have the right type.
uint64_t U64(object o, std::string_view key, bool* ok) {
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return 0;
  uint64_t v = 0;
  if (e.get_uint64().get(v) != simdjson::SUCCESS) *ok = false;
  return v;
}
int64_t I64(object o, std::string_view key, bool* ok) {
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return 0;
  int64_t v = 0;
  if (e.get_int64().get(v) != simdjson::SUCCESS) *ok = false;
  return v;
}
bool Bool(object o, std::string_view key, bool* ok) {
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return false;
  bool v = false;
  if (e.get_bool().get(v) != simdjson::SUCCESS) *ok = false;
  return v;
}
std::string Str(object o, std::string_view key, bool* ok) {
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return {};
  std::string_view v;
  if (e.get_string().get(v) != simdjson::SUCCESS) *ok = false;
  return std::string(v);
}
bool Obj(object o, std::string_view key, object* out) {
  element e;
  return o.at_key(key).get(e) == simdjson::SUCCESS && e.get_object().get(*out) == simdjson::SUCCESS;
}
bool Arr(object o, std::string_view key, simdjson::dom::array* out) {
  element e;
  return o.at_key(key).get(e) == simdjson::SUCCESS && e.get_array().get(*out) == simdjson::SUCCESS;
}

// A successful reply's object, or the decoded error of a failed one.
Result<object> ReplyObject(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  bool ok = true;
  if (!Bool(o, "ok", &ok)) return DecodeError(frame);
  return o;
}

Role RoleFrom(const std::string& s) {
  if (s == "owner") return Role::kOwner;
  if (s == "admin") return Role::kAdmin;
  return Role::kMember;
}

MessageRecord MessageFrom(object o, bool* ok) {
  MessageRecord m;
  m.conv_id = U64(o, "conv", ok);
  m.seq = U64(o, "seq", ok);
  m.msg_id = U64(o, "msg_id", ok);
  m.sender = U64(o, "sender", ok);
  m.sender_device = Str(o, "device", ok);
  m.client_msg_id = Str(o, "client_msg_id", ok);
  m.kind = Str(o, "kind", ok) == "custom" ? MessageKind::kCustom : MessageKind::kText;
  m.body = Str(o, "body", ok);
  m.server_ms = I64(o, "ts", ok);
  m.recalled = Bool(o, "recalled", ok);
  m.recalled_by = U64(o, "recalled_by", ok);
  m.recalled_ms = I64(o, "recalled_ts", ok);
  return m;
}

SyncItem EventFrom(object o, bool* ok) {
  SyncItem item;
  InboxEvent& e = item.event;
  e.user_seq = U64(o, "user_seq", ok);
  std::string type = Str(o, "type", ok);
  bool known = false;
  for (int t = 1; t <= 7; ++t) {
    if (EventTypeName(static_cast<EventType>(t)) == type) {
      e.type = static_cast<EventType>(t);
      known = true;
    }
  }
  if (!known) *ok = false;
  e.conv_id = U64(o, "conv", ok);
  e.conv_seq = U64(o, "seq", ok);
  e.actor = U64(o, "actor", ok);
  e.subject = U64(o, "subject", ok);
  e.ms = I64(o, "ts", ok);
  object m;
  if (Obj(o, "message", &m)) item.message = MessageFrom(m, ok);
  return item;
}

ConversationRecord ConversationFrom(object o, bool* ok) {
  ConversationRecord c;
  c.id = U64(o, "conv", ok);
  c.kind = Str(o, "kind", ok) == "group" ? ConvKind::kGroup : ConvKind::kDirect;
  c.title = Str(o, "title", ok);
  c.owner = U64(o, "owner", ok);
  c.created_ms = I64(o, "created_ts", ok);
  c.member_count = static_cast<uint32_t>(U64(o, "member_count", ok));
  c.read_fanout = Bool(o, "read_fanout", ok);
  return c;
}

template <typename T>
Result<T> Checked(T value, bool ok, std::string_view what) {
  if (!ok) return Malformed(what);
  return value;
}

}  // namespace

Code CodeFromWire(std::string_view name) {
  for (int c = 0; c <= static_cast<int>(Code::kRateLimited); ++c) {
    if (CodeName(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  }
  return Code::kInternal;
}

Result<FrameHeader> DecodeHeader(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  FrameHeader h;
  element e;
  h.is_push = o.at_key("push").get(e) == simdjson::SUCCESS;
  if (o.at_key("id").get(e) == simdjson::SUCCESS) {
    h.has_id = e.get_uint64().get(h.id) == simdjson::SUCCESS;
  }
  bool ok = true;
  h.ok = Bool(o, "ok", &ok);
  return h;
}

Status DecodeError(std::string_view frame, int64_t* retry_after_ms) {
  if (retry_after_ms) *retry_after_ms = -1;
  auto parsed = ParseObject(frame);
  if (!parsed.ok()) return parsed.status();
  object o = *parsed;
  bool ok = true;
  std::string code = Str(o, "error", &ok);
  std::string message = Str(o, "message", &ok);
  if (retry_after_ms) {
    element e;
    if (o.at_key("retry_after_ms").get(e) == simdjson::SUCCESS)
      *retry_after_ms = I64(o, "retry_after_ms", &ok);
  }
  if (code.empty()) return Malformed("a failed reply without an error code");
  Code c = CodeFromWire(code);
  return Status(c == Code::kOk ? Code::kInternal : c, message);
}

Result<LoginReply> DecodeLogin(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  LoginReply r{U64(o, "user", &ok), Str(o, "name", &ok), Str(o, "device", &ok),
               Str(o, "token", &ok)};
  return Checked(std::move(r), ok, "login reply");
}

Result<UserInfo> DecodeRegister(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  UserInfo u{U64(o, "user", &ok), Str(o, "name", &ok)};
  return Checked(std::move(u), ok, "register reply");
}

Result<std::vector<UserInfo>> DecodeUsers(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  std::vector<UserInfo> out;
  simdjson::dom::array arr;
  if (!Arr(o, "users", &arr)) return Malformed("users reply");
  for (element e : arr) {
    object u;
    if (e.get_object().get(u) != simdjson::SUCCESS) return Malformed("user");
    out.push_back(UserInfo{U64(u, "user", &ok), Str(u, "name", &ok)});
  }
  return Checked(std::move(out), ok, "users reply");
}

Result<SendAck> DecodeSendAck(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  SendAck a{U64(o, "conv", &ok), U64(o, "seq", &ok), U64(o, "msg_id", &ok), I64(o, "ts", &ok),
            Bool(o, "duplicate", &ok)};
  return Checked(a, ok, "send ack");
}

Result<SyncReply> DecodeSync(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  SyncReply r;
  simdjson::dom::array events, heads;
  if (!Arr(o, "events", &events) || !Arr(o, "heads", &heads)) return Malformed("sync reply");
  for (element e : events) {
    object eo;
    if (e.get_object().get(eo) != simdjson::SUCCESS) return Malformed("event");
    r.items.push_back(EventFrom(eo, &ok));
  }
  for (element e : heads) {
    object ho;
    if (e.get_object().get(ho) != simdjson::SUCCESS) return Malformed("head");
    r.heads.push_back(HeadInfo{U64(ho, "conv", &ok), U64(ho, "seq", &ok), I64(ho, "ts", &ok)});
  }
  r.next = U64(o, "next", &ok);
  r.has_more = Bool(o, "has_more", &ok);
  r.reset = Bool(o, "reset", &ok);
  r.heads_next = U64(o, "heads_next", &ok);
  return Checked(std::move(r), ok, "sync reply");
}

Result<HistoryPage> DecodeHistory(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  HistoryPage p;
  simdjson::dom::array messages;
  if (!Arr(o, "messages", &messages)) return Malformed("history reply");
  for (element e : messages) {
    object mo;
    if (e.get_object().get(mo) != simdjson::SUCCESS) return Malformed("message");
    p.messages.push_back(MessageFrom(mo, &ok));
  }
  p.has_more_before = Bool(o, "has_more_before", &ok);
  p.has_more_after = Bool(o, "has_more_after", &ok);
  p.head_seq = U64(o, "head_seq", &ok);
  return Checked(std::move(p), ok, "history reply");
}

Result<std::vector<ConversationSummary>> DecodeConvs(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  std::vector<ConversationSummary> out;
  simdjson::dom::array arr;
  if (!Arr(o, "conversations", &arr)) return Malformed("convs reply");
  for (element e : arr) {
    object so;
    if (e.get_object().get(so) != simdjson::SUCCESS) return Malformed("summary");
    ConversationSummary s;
    s.conv = ConversationFrom(so, &ok);
    s.role = RoleFrom(Str(so, "role", &ok));
    s.peer = U64(so, "peer", &ok);
    s.head.last_seq = U64(so, "last_seq", &ok);
    s.head.last_ms = I64(so, "last_ts", &ok);
    s.read_seq = U64(so, "read_seq", &ok);
    s.unread = U64(so, "unread", &ok);
    object mo;
    if (Obj(so, "last_message", &mo)) s.last_message = MessageFrom(mo, &ok);
    out.push_back(std::move(s));
  }
  return Checked(std::move(out), ok, "convs reply");
}

Result<ConversationRecord> DecodeConversationReply(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  object c;
  if (!Obj(o, "conversation", &c)) return Malformed("conversation reply");
  return Checked(ConversationFrom(c, &ok), ok, "conversation");
}

Result<std::vector<MemberRecord>> DecodeMembers(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  std::vector<MemberRecord> out;
  simdjson::dom::array arr;
  if (!Arr(o, "members", &arr)) return Malformed("members reply");
  for (element e : arr) {
    object mo;
    if (e.get_object().get(mo) != simdjson::SUCCESS) return Malformed("member");
    MemberRecord m;
    m.user_id = U64(mo, "user", &ok);
    m.role = RoleFrom(Str(mo, "role", &ok));
    m.joined_ms = I64(mo, "joined_ts", &ok);
    out.push_back(m);
  }
  return Checked(std::move(out), ok, "members reply");
}

Result<ReadReply> DecodeRead(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  bool ok = true;
  ReadReply r{U64(o, "read_seq", &ok)};
  return Checked(r, ok, "read reply");
}

Result<Push> DecodePush(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  bool ok = true;
  Push p;
  std::string kind = Str(o, "push", &ok);
  if (kind == "event") {
    object eo;
    if (!Obj(o, "event", &eo)) return Malformed("event push");
    p.kind = Push::Kind::kEvent;
    p.item = EventFrom(eo, &ok);
  } else if (kind == "head") {
    p.kind = Push::Kind::kHead;
    p.conv = U64(o, "conv", &ok);
    p.seq = U64(o, "seq", &ok);
    p.ts = I64(o, "ts", &ok);
  } else if (kind == "typing") {
    p.kind = Push::Kind::kTyping;
    p.conv = U64(o, "conv", &ok);
    p.user = U64(o, "user", &ok);
  } else if (kind == "resync") {
    p.kind = Push::Kind::kResync;
    p.reason = Str(o, "reason", &ok);
  }
  return Checked(std::move(p), ok, "push");
}

}  // namespace parley
