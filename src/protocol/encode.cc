#include "protocol/encode.h"

namespace parley {

void WriteMessage(JsonWriter& w, const MessageRecord& m) {
  w.BeginObject()
      .Key("conv")
      .Uint(m.conv_id)
      .Key("seq")
      .Uint(m.seq)
      .Key("msg_id")
      .Uint(m.msg_id)
      .Key("sender")
      .Uint(m.sender)
      .Key("device")
      .String(m.sender_device)
      .Key("client_msg_id")
      .String(m.client_msg_id)
      .Key("kind")
      .String(MessageKindName(m.kind))
      .Key("body")
      .String(m.body)
      .Key("ts")
      .Int(m.server_ms);
  if (m.recalled) {
    w.Key("recalled").Bool(true).Key("recalled_by").Uint(m.recalled_by);
    w.Key("recalled_ts").Int(m.recalled_ms);
  }
  if (m.edited_ms != 0) w.Key("edited_ms").Int(m.edited_ms);
  w.EndObject();
}

void WriteEvent(JsonWriter& w, const InboxEvent& e, std::string_view message_json) {
  w.BeginObject()
      .Key("user_seq")
      .Uint(e.user_seq)
      .Key("type")
      .String(EventTypeName(e.type))
      .Key("conv")
      .Uint(e.conv_id)
      .Key("seq")
      .Uint(e.conv_seq)
      .Key("actor")
      .Uint(e.actor)
      .Key("subject")
      .Uint(e.subject)
      .Key("ts")
      .Int(e.ms);
  if (!message_json.empty()) w.Key("message").Raw(message_json);
  w.EndObject();
}

void WriteConversation(JsonWriter& w, const ConversationRecord& c) {
  w.BeginObject()
      .Key("conv")
      .Uint(c.id)
      .Key("kind")
      .String(ConvKindName(c.kind))
      .Key("title")
      .String(c.title)
      .Key("owner")
      .Uint(c.owner)
      .Key("created_ts")
      .Int(c.created_ms)
      .Key("member_count")
      .Uint(c.member_count)
      .Key("read_fanout")
      .Bool(c.read_fanout)
      .EndObject();
}

void WriteSummary(JsonWriter& w, const ConversationSummary& s) {
  const ConversationRecord& c = s.conv;
  w.BeginObject()
      .Key("conv")
      .Uint(c.id)
      .Key("kind")
      .String(ConvKindName(c.kind))
      .Key("title")
      .String(c.title)
      .Key("owner")
      .Uint(c.owner)
      .Key("created_ts")
      .Int(c.created_ms)
      .Key("member_count")
      .Uint(c.member_count)
      .Key("read_fanout")
      .Bool(c.read_fanout)
      .Key("role")
      .String(RoleName(s.role))
      .Key("peer")
      .Uint(s.peer)
      .Key("last_seq")
      .Uint(s.head.last_seq)
      .Key("last_ts")
      .Int(s.head.last_ms)
      .Key("read_seq")
      .Uint(s.read_seq)
      .Key("unread")
      .Uint(s.unread);
  if (s.last_message) {
    w.Key("last_message");
    WriteMessage(w, *s.last_message);
  }
  w.EndObject();
}

void WriteMember(JsonWriter& w, const MemberRecord& m) {
  w.BeginObject()
      .Key("user")
      .Uint(m.user_id)
      .Key("role")
      .String(RoleName(m.role))
      .Key("joined_ts")
      .Int(m.joined_ms)
      .EndObject();
}

namespace {

void WriteId(JsonWriter& w, const RequestId& id) {
  w.Key("id");
  if (const auto* n = std::get_if<uint64_t>(&id)) {
    w.Uint(*n);
  } else if (const auto* s = std::get_if<std::string>(&id)) {
    w.String(*s);
  } else {
    w.Null();
  }
}

}  // namespace

JsonWriter BeginReply(const RequestId& id) {
  JsonWriter w;
  w.BeginObject();
  WriteId(w, id);
  w.Key("ok").Bool(true);
  return w;
}

std::string EmptyReply(const RequestId& id) {
  JsonWriter w = BeginReply(id);
  w.EndObject();
  return w.Take();
}

std::string ErrorReply(const RequestId& id, const Status& status, int64_t retry_after_ms) {
  JsonWriter w;
  w.BeginObject();
  WriteId(w, id);
  w.Key("ok").Bool(false);
  w.Key("error").String(CodeName(status.code()));
  w.Key("message").String(status.message());
  if (retry_after_ms >= 0) w.Key("retry_after_ms").Int(retry_after_ms);
  w.EndObject();
  return w.Take();
}

std::string EventPush(const InboxEvent& e, std::string_view message_json) {
  JsonWriter w;
  w.BeginObject().Key("push").String("event").Key("event");
  WriteEvent(w, e, message_json);
  w.EndObject();
  return w.Take();
}

std::string HeadPush(ConvId conv, Seq seq, int64_t ts) {
  JsonWriter w;
  w.BeginObject()
      .Key("push")
      .String("head")
      .Key("conv")
      .Uint(conv)
      .Key("seq")
      .Uint(seq)
      .Key("ts")
      .Int(ts)
      .EndObject();
  return w.Take();
}

std::string TypingPush(ConvId conv, UserId user) {
  JsonWriter w;
  w.BeginObject().Key("push").String("typing").Key("conv").Uint(conv).Key("user").Uint(user);
  w.EndObject();
  return w.Take();
}

std::string ResyncPush(std::string_view reason) {
  JsonWriter w;
  w.BeginObject().Key("push").String("resync").Key("reason").String(reason).EndObject();
  return w.Take();
}

void WriteSearchHit(JsonWriter& w, const SearchHit& h) {
  w.BeginObject().Key("conv").Uint(h.conv).Key("seq").Uint(h.seq).Key("msg_id").Uint(h.msg_id);
  w.Key("sender").Uint(h.sender).Key("ts").Int(h.ms).Key("snippet").String(h.snippet);
  w.Key("highlights").BeginArray();
  for (const auto& [start, length] : h.highlights)
    w.BeginArray().Uint(start).Uint(length).EndArray();
  w.EndArray().EndObject();
}

std::string SendAckReply(const RequestId& id, const SendAck& ack) {
  JsonWriter w = BeginReply(id);
  w.Key("conv").Uint(ack.conv_id).Key("seq").Uint(ack.seq).Key("msg_id").Uint(ack.msg_id);
  w.Key("ts").Int(ack.server_ms).Key("duplicate").Bool(ack.duplicate);
  if (ack.user_seq != 0) w.Key("user_seq").Uint(ack.user_seq);
  w.EndObject();
  return w.Take();
}

std::string ConversationReply(const RequestId& id, const ConversationRecord& c) {
  JsonWriter w = BeginReply(id);
  w.Key("conversation");
  WriteConversation(w, c);
  w.EndObject();
  return w.Take();
}

}  // namespace parley
