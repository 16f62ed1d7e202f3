// Decoders of server frames with simdjson's DOM API: frames are small, and the DOM lets
// each decoder look fields up by name in any order (the server's field order is not part
// of the contract).
#include "protocol/decode.h"

#include <simdjson.h>

#include "protocol/encode.h"

namespace parley {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

Status Malformed(std::string_view what) {
  return Status(Code::kCorruption, "malformed server frame: " + std::string(what));
}

Result<object> ParseObject(std::string_view frame) {
  // One parser per thread: it keeps its buffers between frames. parse() copies the input
  // into a padded buffer, so `frame` needs no SIMDJSON_PADDING.
  thread_local simdjson::dom::parser parser;
  element root;
  if (parser.parse(frame.data(), frame.size()).get(root) != simdjson::SUCCESS) {
    return Malformed("not JSON");
  }
  object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return Malformed("not an object");
  return obj;
}

enum Need { kOptional, kRequired };

// Reads the fields of one object. A required field that is absent, or any field of the
// wrong type, marks the whole object bad and remembers the first such key for the error.
class Fields {
 public:
  explicit Fields(object o) : o_(o) {}

  uint64_t U64(std::string_view key, Need need = kOptional) {
    element e;
    uint64_t v = 0;
    if (Find(key, need, &e) && e.get_uint64().get(v) != simdjson::SUCCESS) Bad(key);
    return v;
  }
  int64_t I64(std::string_view key, Need need = kOptional) {
    element e;
    int64_t v = 0;
    if (Find(key, need, &e) && e.get_int64().get(v) != simdjson::SUCCESS) Bad(key);
    return v;
  }
  bool Bool(std::string_view key, Need need = kOptional) {
    element e;
    bool v = false;
    if (Find(key, need, &e) && e.get_bool().get(v) != simdjson::SUCCESS) Bad(key);
    return v;
  }
  std::string Str(std::string_view key, Need need = kOptional) {
    element e;
    std::string_view v;
    if (Find(key, need, &e) && e.get_string().get(v) != simdjson::SUCCESS) Bad(key);
    return std::string(v);
  }
  // Absent: false. Present but not an object/array: marks the object bad.
  bool Obj(std::string_view key, object* out, Need need = kOptional) {
    element e;
    if (!Find(key, need, &e)) return false;
    if (e.get_object().get(*out) == simdjson::SUCCESS) return true;
    Bad(key);
    return false;
  }
  bool Arr(std::string_view key, array* out, Need need = kOptional) {
    element e;
    if (!Find(key, need, &e)) return false;
    if (e.get_array().get(*out) == simdjson::SUCCESS) return true;
    Bad(key);
    return false;
  }
  bool Has(std::string_view key) const {
    element e;
    return o_.at_key(key).get(e) == simdjson::SUCCESS;
  }

  void Bad(std::string_view key) {
    if (ok_) bad_ = key;
    ok_ = false;
  }
  bool ok() const { return ok_; }
  // Merges the verdict on a nested object into this one.
  void Absorb(const Fields& inner) {
    if (!inner.ok_ && ok_) {
      ok_ = false;
      bad_ = inner.bad_;
    }
  }
  Status Error(std::string_view what) const {
    return Malformed(std::string(what) + ": field '" + bad_ + "'");
  }

 private:
  bool Find(std::string_view key, Need need, element* e) {
    if (o_.at_key(key).get(*e) == simdjson::SUCCESS) return true;
    if (need == kRequired) Bad(key);
    return false;
  }

  object o_;
  bool ok_ = true;
  std::string bad_;
};

template <typename T>
Result<T> Checked(T value, const Fields& f, std::string_view what) {
  if (!f.ok()) return f.Error(what);
  return value;
}

// A successful reply's object, or the decoded error of a failed one.
Result<object> ReplyObject(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  Fields f(o);
  bool ok = f.Bool("ok", kRequired);
  if (!f.ok()) return f.Error("reply");
  if (!ok) return DecodeError(frame);
  return o;
}

MessageRecord MessageFrom(object o, Fields& outer) {
  Fields f(o);
  MessageRecord m;
  m.conv_id = f.U64("conv", kRequired);
  m.seq = f.U64("seq", kRequired);
  m.msg_id = f.U64("msg_id", kRequired);
  m.sender = f.U64("sender", kRequired);
  m.sender_device = f.Str("device");
  m.client_msg_id = f.Str("client_msg_id");
  m.kind = ParseMessageKind(f.Str("kind")).value_or(MessageKind::kText);
  m.body = f.Str("body", kRequired);
  m.server_ms = f.I64("ts", kRequired);
  m.recalled = f.Bool("recalled");
  m.recalled_by = f.U64("recalled_by");
  m.recalled_ms = f.I64("recalled_ts");
  m.edited_ms = f.I64("edited_ms");
  outer.Absorb(f);
  return m;
}

// nullopt for an event of a type this client does not know (it is skipped).
std::optional<SyncItem> EventFrom(object o, Fields& outer) {
  Fields f(o);
  SyncItem item;
  InboxEvent& e = item.event;
  e.user_seq = f.U64("user_seq", kRequired);
  std::optional<EventType> type = ParseEventType(f.Str("type", kRequired));
  e.conv_id = f.U64("conv", kRequired);
  e.conv_seq = f.U64("seq");
  e.actor = f.U64("actor");
  e.subject = f.U64("subject");
  e.ms = f.I64("ts");
  object m;
  if (f.Obj("message", &m)) item.message = MessageFrom(m, f);
  outer.Absorb(f);
  if (!type) return std::nullopt;
  e.type = *type;
  return item;
}

ConversationRecord ConversationFrom(Fields& f) {
  ConversationRecord c;
  c.id = f.U64("conv", kRequired);
  c.kind = ParseConvKind(f.Str("kind", kRequired)).value_or(ConvKind::kDirect);
  c.title = f.Str("title");
  c.owner = f.U64("owner");
  c.created_ms = f.I64("created_ts");
  uint64_t count = f.U64("member_count");
  if (count > UINT32_MAX) f.Bad("member_count");
  c.member_count = static_cast<uint32_t>(count);
  c.read_fanout = f.Bool("read_fanout");
  return c;
}

// Decodes every element of `arr` as an object with `one`; a non-object element is bad.
template <typename T, typename One>
bool EachObject(array arr, Fields& f, std::string_view key, std::vector<T>* out, One one) {
  for (element e : arr) {
    object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) {
      f.Bad(key);
      return false;
    }
    one(o, out);
  }
  return f.ok();
}

}  // namespace

Code CodeFromWire(std::string_view name) {
  for (int c = static_cast<int>(Code::kInvalidArgument); c <= static_cast<int>(kLastCode); ++c) {
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
  bool ok = false;
  if (o.at_key("ok").get(e) == simdjson::SUCCESS && e.get_bool().get(ok) == simdjson::SUCCESS) {
    h.ok = ok;
  }
  return h;
}

Result<ErrorInfo> DecodeErrorInfo(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  Fields f(o);
  ErrorInfo info;
  info.code = f.Str("error", kRequired);
  info.message = f.Str("message");
  if (f.Has("retry_after_ms")) info.retry_after_ms = f.I64("retry_after_ms");
  if (f.ok() && info.code.empty()) f.Bad("error");
  return Checked(std::move(info), f, "error reply");
}

Status DecodeError(std::string_view frame, int64_t* retry_after_ms) {
  if (retry_after_ms) *retry_after_ms = -1;
  auto info = DecodeErrorInfo(frame);
  if (!info.ok()) return info.status();
  if (retry_after_ms) *retry_after_ms = info->retry_after_ms;
  return Status(CodeFromWire(info->code), std::move(info->message));
}

Result<LoginReply> DecodeLogin(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  LoginReply r;
  r.user = f.U64("user", kRequired);
  r.name = f.Str("name", kRequired);
  r.device = f.Str("device", kRequired);
  r.token = f.Str("token");
  return Checked(std::move(r), f, "login reply");
}

Result<UserInfo> DecodeRegister(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  UserInfo u;
  u.id = f.U64("user", kRequired);
  u.name = f.Str("name", kRequired);
  return Checked(std::move(u), f, "register reply");
}

Result<std::vector<UserInfo>> DecodeUsers(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  std::vector<UserInfo> out;
  array arr;
  if (f.Arr("users", &arr, kRequired)) {
    EachObject(arr, f, "users", &out, [&f](object uo, std::vector<UserInfo>* v) {
      Fields u(uo);
      UserInfo info;
      info.id = u.U64("user", kRequired);
      info.name = u.Str("name", kRequired);
      f.Absorb(u);
      v->push_back(std::move(info));
    });
  }
  return Checked(std::move(out), f, "users reply");
}

Result<SendAck> DecodeSendAck(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  SendAck a;
  a.conv_id = f.U64("conv", kRequired);
  a.seq = f.U64("seq", kRequired);
  a.msg_id = f.U64("msg_id", kRequired);
  a.server_ms = f.I64("ts");
  a.duplicate = f.Bool("duplicate");
  a.user_seq = f.U64("user_seq");
  return Checked(a, f, "send ack");
}

Result<SyncReply> DecodeSync(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  SyncReply r;
  array events, heads;
  if (f.Arr("events", &events, kRequired)) {
    EachObject(events, f, "events", &r.items, [&f](object eo, std::vector<SyncItem>* v) {
      if (auto item = EventFrom(eo, f)) v->push_back(std::move(*item));
    });
  }
  if (f.Arr("heads", &heads)) {
    EachObject(heads, f, "heads", &r.heads, [&f](object ho, std::vector<HeadInfo>* v) {
      Fields h(ho);
      HeadInfo info;
      info.conv_id = h.U64("conv", kRequired);
      info.last_seq = h.U64("seq", kRequired);
      info.last_ms = h.I64("ts");
      f.Absorb(h);
      v->push_back(info);
    });
  }
  r.next = f.U64("next", kRequired);
  r.has_more = f.Bool("has_more", kRequired);
  r.reset = f.Bool("reset");
  r.heads_next = f.U64("heads_next");
  return Checked(std::move(r), f, "sync reply");
}

Result<HistoryPage> DecodeHistory(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  HistoryPage p;
  array messages;
  if (f.Arr("messages", &messages, kRequired)) {
    EachObject(
        messages, f, "messages", &p.messages,
        [&f](object mo, std::vector<MessageRecord>* v) { v->push_back(MessageFrom(mo, f)); });
  }
  p.has_more_before = f.Bool("has_more_before");
  p.has_more_after = f.Bool("has_more_after");
  p.head_seq = f.U64("head_seq");
  return Checked(std::move(p), f, "history reply");
}

Result<std::vector<ConversationSummary>> DecodeConvs(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  std::vector<ConversationSummary> out;
  array arr;
  if (f.Arr("conversations", &arr, kRequired)) {
    EachObject(arr, f, "conversations", &out, [&f](object so, std::vector<ConversationSummary>* v) {
      Fields s(so);
      ConversationSummary sum;
      sum.conv = ConversationFrom(s);
      sum.role = ParseRole(s.Str("role")).value_or(Role::kMember);
      sum.peer = s.U64("peer");
      sum.head.last_seq = s.U64("last_seq");
      sum.head.last_ms = s.I64("last_ts");
      sum.read_seq = s.U64("read_seq");
      sum.unread = s.U64("unread");
      object mo;
      if (s.Obj("last_message", &mo)) sum.last_message = MessageFrom(mo, s);
      f.Absorb(s);
      v->push_back(std::move(sum));
    });
  }
  return Checked(std::move(out), f, "convs reply");
}

Result<ConversationRecord> DecodeConversationReply(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  object co;
  ConversationRecord c;
  if (f.Obj("conversation", &co, kRequired)) {
    Fields cf(co);
    c = ConversationFrom(cf);
    f.Absorb(cf);
  }
  return Checked(std::move(c), f, "conversation reply");
}

Result<ConversationInfo> DecodeConvGet(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(ConversationRecord c, DecodeConversationReply(frame));
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  Fields f(o);
  ConversationInfo info{std::move(c), ParseRole(f.Str("role", kRequired)).value_or(Role::kMember)};
  return Checked(std::move(info), f, "conv.get reply");
}

Result<std::vector<MemberRecord>> DecodeMembers(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  std::vector<MemberRecord> out;
  array arr;
  if (f.Arr("members", &arr, kRequired)) {
    EachObject(arr, f, "members", &out, [&f](object mo, std::vector<MemberRecord>* v) {
      Fields m(mo);
      MemberRecord rec;
      rec.user_id = m.U64("user", kRequired);
      rec.role = ParseRole(m.Str("role", kRequired)).value_or(Role::kMember);
      rec.joined_ms = m.I64("joined_ts");
      f.Absorb(m);
      v->push_back(rec);
    });
  }
  return Checked(std::move(out), f, "members reply");
}

Result<SearchResult> DecodeSearch(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  SearchResult out;
  simdjson::dom::element next;  // a string, or null at the end
  if (o.at_key("next").get(next) == simdjson::SUCCESS && !next.is_null()) out.next = f.Str("next");
  array arr;
  if (f.Arr("hits", &arr, kRequired)) {
    EachObject(arr, f, "hits", &out.hits, [&f](object ho, std::vector<SearchHit>* v) {
      Fields h(ho);
      SearchHit hit;
      hit.conv = h.U64("conv", kRequired);
      hit.seq = h.U64("seq", kRequired);
      hit.msg_id = h.U64("msg_id", kRequired);
      hit.sender = h.U64("sender", kRequired);
      hit.ms = h.I64("ts", kRequired);
      hit.snippet = h.Str("snippet", kRequired);
      array spans;
      if (h.Arr("highlights", &spans)) {
        for (simdjson::dom::element span : spans) {
          uint64_t start = 0, length = 0;
          simdjson::dom::array pair;
          if (span.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
              pair.at(0).get_uint64().get(start) != simdjson::SUCCESS ||
              pair.at(1).get_uint64().get(length) != simdjson::SUCCESS) {
            h.Bad("highlights");
            break;
          }
          hit.highlights.emplace_back(static_cast<uint32_t>(start), static_cast<uint32_t>(length));
        }
      }
      f.Absorb(h);
      v->push_back(std::move(hit));
    });
  }
  return Checked(std::move(out), f, "search reply");
}

Result<EditReply> DecodeEdit(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  EditReply r;
  r.conv_id = f.U64("conv", kRequired);
  r.seq = f.U64("seq", kRequired);
  r.edited_ms = f.I64("edited_ms", kRequired);
  return Checked(r, f, "edit reply");
}

Result<ReadReply> DecodeRead(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  ReadReply r{f.U64("read_seq", kRequired)};
  return Checked(r, f, "read reply");
}

Result<int64_t> DecodePing(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ReplyObject(frame));
  Fields f(o);
  int64_t ts = f.I64("ts", kRequired);
  return Checked(ts, f, "ping reply");
}

namespace {

// One push object of the single-event form (or an element of a batch).
Result<Push> PushFrom(object o) {
  Fields f(o);
  Push p;
  std::string kind = f.Str("push", kRequired);
  if (kind == "event") {
    object eo;
    if (f.Obj("event", &eo, kRequired)) {
      if (auto item = EventFrom(eo, f)) {
        p.kind = Push::Kind::kEvent;
        p.item = std::move(*item);
      }
    }
  } else if (kind == "head") {
    p.kind = Push::Kind::kHead;
    p.conv = f.U64("conv", kRequired);
    p.seq = f.U64("seq", kRequired);
    p.ts = f.I64("ts");
  } else if (kind == "typing") {
    p.kind = Push::Kind::kTyping;
    p.conv = f.U64("conv", kRequired);
    p.user = f.U64("user", kRequired);
  } else if (kind == "resync") {
    p.kind = Push::Kind::kResync;
    p.reason = f.Str("reason");
  }
  return Checked(std::move(p), f, "push");
}

}  // namespace

Result<Push> DecodePush(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  return PushFrom(o);
}

Result<std::vector<Push>> DecodePushes(std::string_view frame) {
  PARLEY_ASSIGN_OR_RETURN(object o, ParseObject(frame));
  Fields f(o);
  if (f.Str("push", kRequired) != kPushBatchKind) {
    if (!f.ok()) return f.Error("push");
    PARLEY_ASSIGN_OR_RETURN(Push single, PushFrom(o));
    return std::vector<Push>{std::move(single)};
  }
  array events;
  f.Arr("events", &events, kRequired);
  if (!f.ok()) return f.Error("push batch");
  std::vector<Push> out;
  for (element e : events) {
    object po;
    // Each element is a whole single push; a batch inside a batch is not one.
    if (e.get_object().get(po) != simdjson::SUCCESS) return Malformed("push batch: not an object");
    Fields inner(po);
    if (inner.Str("push") == kPushBatchKind) return Malformed("push batch: nested batch");
    PARLEY_ASSIGN_OR_RETURN(Push p, PushFrom(po));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace parley
