// Tests of the client-side decoders: the frames of docs/protocol.md decode to the right
// records, encode → decode round-trips every field, and garbage, truncated or mistyped
// frames are errors (kCorruption), never crashes.
#include "protocol/decode.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "protocol/encode.h"

namespace parley {
namespace {

// The worked session of docs/protocol.md §6, server side.
const char kRegister[] = R"({"id":1,"ok":true,"user":1,"name":"alice"})";
const char kLogin[] =
    R"({"id":2,"ok":true,"user":1,"name":"alice","device":"laptop","token":"3f9c"})";
const char kEmptySync[] =
    R"({"id":3,"ok":true,"events":[],"next":0,"has_more":false,"reset":false,"heads":[],"heads_next":0})";
const char kEventPush[] =
    R"({"push":"event","event":{"user_seq":1,"type":"message","conv":1,"seq":1,"actor":1,"subject":0,"ts":1763900000123,"message":{"conv":1,"seq":1,"msg_id":1,"sender":1,"device":"laptop","client_msg_id":"m-1","kind":"text","body":"hi bob","ts":1763900000123}}})";
const char kSendAck[] =
    R"({"id":4,"ok":true,"conv":1,"seq":1,"msg_id":1,"ts":1763900000123,"duplicate":false})";
const char kDuplicateAck[] =
    R"({"id":5,"ok":true,"conv":1,"seq":1,"msg_id":1,"ts":1763900000123,"duplicate":true})";
const char kUnknownOp[] =
    R"({"id":7,"ok":false,"error":"unknown_op","message":"unknown op 'frobnicate'"})";
const char kRateLimited[] =
    R"({"id":7,"ok":false,"error":"rate_limited","message":"sending too fast","retry_after_ms":180})";

TEST(DecodeTest, WorkedSessionFromTheProtocolDocument) {
  auto reg = DecodeRegister(kRegister);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(reg->id, 1u);
  EXPECT_EQ(reg->name, "alice");

  auto login = DecodeLogin(kLogin);
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(login->user, 1u);
  EXPECT_EQ(login->device, "laptop");
  EXPECT_EQ(login->token, "3f9c");

  auto sync = DecodeSync(kEmptySync);
  ASSERT_TRUE(sync.ok()) << sync.status().ToString();
  EXPECT_TRUE(sync->items.empty());
  EXPECT_FALSE(sync->has_more);

  auto push = DecodePush(kEventPush);
  ASSERT_TRUE(push.ok()) << push.status().ToString();
  ASSERT_EQ(push->kind, Push::Kind::kEvent);
  EXPECT_EQ(push->item.event.user_seq, 1u);
  EXPECT_EQ(push->item.event.type, EventType::kMessage);
  EXPECT_EQ(push->item.event.ms, 1763900000123);
  ASSERT_TRUE(push->item.message.has_value());
  EXPECT_EQ(push->item.message->body, "hi bob");
  EXPECT_EQ(push->item.message->client_msg_id, "m-1");
  EXPECT_EQ(push->item.message->sender_device, "laptop");

  auto ack = DecodeSendAck(kSendAck);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->seq, 1u);
  EXPECT_FALSE(ack->duplicate);
  EXPECT_TRUE(DecodeSendAck(kDuplicateAck)->duplicate);

  auto err = DecodeSendAck(kUnknownOp);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), Code::kUnknownOp);
  EXPECT_EQ(err.status().message(), "unknown op 'frobnicate'");
}

TEST(DecodeTest, ErrorRepliesKeepCodeMessageAndRetryHint) {
  int64_t retry = 0;
  Status st = DecodeError(kRateLimited, &retry);
  EXPECT_EQ(st.code(), Code::kRateLimited);
  EXPECT_EQ(st.message(), "sending too fast");
  EXPECT_EQ(retry, 180);
  DecodeError(kUnknownOp, &retry).IgnoreError();
  EXPECT_EQ(retry, -1);

  auto info = DecodeErrorInfo(kRateLimited);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->code, "rate_limited");
  EXPECT_EQ(info->retry_after_ms, 180);

  // A code this client does not know yet is an internal error, not a crash or "ok".
  EXPECT_EQ(DecodeError(R"({"id":1,"ok":false,"error":"brand_new","message":"m"})").code(),
            Code::kInternal);
  EXPECT_EQ(DecodeError(R"({"id":1,"ok":false,"message":"m"})").code(), Code::kCorruption);
  EXPECT_EQ(DecodeError("garbage").code(), Code::kCorruption);
}

TEST(DecodeTest, EveryWireCodeMapsBack) {
  for (int c = 1; c <= static_cast<int>(kLastCode); ++c) {
    Code code = static_cast<Code>(c);
    EXPECT_EQ(CodeFromWire(CodeName(code)), code) << CodeName(code);
  }
  EXPECT_EQ(CodeFromWire("ok"), Code::kInternal);
  EXPECT_EQ(CodeFromWire(""), Code::kInternal);
}

TEST(DecodeTest, HeaderRoutesRepliesAndPushes) {
  auto reply = DecodeHeader(kSendAck);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->has_id);
  EXPECT_EQ(reply->id, 4u);
  EXPECT_TRUE(reply->ok);
  EXPECT_FALSE(reply->is_push);

  auto push = DecodeHeader(kEventPush);
  ASSERT_TRUE(push.ok());
  EXPECT_TRUE(push->is_push);
  EXPECT_FALSE(push->has_id);

  auto null_id = DecodeHeader(R"({"id":null,"ok":false,"error":"bad_json","message":"x"})");
  ASSERT_TRUE(null_id.ok());
  EXPECT_FALSE(null_id->has_id);
  EXPECT_FALSE(null_id->ok);
  auto string_id = DecodeHeader(R"({"id":"x","ok":false,"error":"unknown_op"})");
  ASSERT_TRUE(string_id.ok());
  EXPECT_FALSE(string_id->has_id);
  EXPECT_FALSE(DecodeHeader("[1]").ok());
}

MessageRecord SampleMessage(bool recalled) {
  MessageRecord m;
  m.conv_id = 12;
  m.seq = 41;
  m.msg_id = 9001;
  m.sender = 7;
  m.sender_device = "phone-1";
  m.client_msg_id = "cm\"id";
  m.kind = recalled ? MessageKind::kText : MessageKind::kCustom;
  m.body = recalled ? "" : R"({"emoji":"😀","line":"a\nb"})";
  m.server_ms = 1763900000123;
  m.recalled = recalled;
  if (recalled) {
    m.recalled_by = 8;
    m.recalled_ms = 1763900000999;
  }
  return m;
}

// A text message its sender edited.
MessageRecord EditedMessage() {
  MessageRecord m = SampleMessage(false);
  m.kind = MessageKind::kText;
  m.body = "fixed the typo";
  m.edited_ms = 1763900000555;
  return m;
}

// The message a sync item or push of `type` carries in these tests.
MessageRecord MessageFor(EventType type) {
  if (type == EventType::kEdit) return EditedMessage();
  return SampleMessage(type == EventType::kRecall);
}

void ExpectSameMessage(const MessageRecord& a, const MessageRecord& b) {
  EXPECT_EQ(a.conv_id, b.conv_id);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.msg_id, b.msg_id);
  EXPECT_EQ(a.sender, b.sender);
  EXPECT_EQ(a.sender_device, b.sender_device);
  EXPECT_EQ(a.client_msg_id, b.client_msg_id);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.server_ms, b.server_ms);
  EXPECT_EQ(a.recalled, b.recalled);
  EXPECT_EQ(a.recalled_by, b.recalled_by);
  EXPECT_EQ(a.recalled_ms, b.recalled_ms);
  EXPECT_EQ(a.edited_ms, b.edited_ms);
}

ConversationRecord SampleConversation() {
  ConversationRecord c;
  c.id = 12;
  c.kind = ConvKind::kGroup;
  c.title = "Team \"ünïcode\"";
  c.owner = 7;
  c.created_ms = 1763000000000;
  c.member_count = 5000;
  c.read_fanout = true;
  return c;
}

void ExpectSameConversation(const ConversationRecord& a, const ConversationRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.title, b.title);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.member_count, b.member_count);
  EXPECT_EQ(a.read_fanout, b.read_fanout);
}

std::string MessageJson(const MessageRecord& m) {
  JsonWriter w;
  WriteMessage(w, m);
  return w.Take();
}

TEST(DecodeTest, HistoryRoundTripsEveryMessageField) {
  HistoryPage page;
  page.messages = {SampleMessage(false), SampleMessage(true), EditedMessage()};
  page.messages[1].seq = 42;
  page.messages[2].seq = 43;
  JsonWriter w = BeginReply(RequestId{uint64_t{6}});
  w.Key("messages").BeginArray();
  for (const auto& m : page.messages) WriteMessage(w, m);
  w.EndArray().Key("has_more_before").Bool(true).Key("has_more_after").Bool(false);
  w.Key("head_seq").Uint(42).EndObject();
  auto got = DecodeHistory(w.Take());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->messages.size(), 3u);
  for (size_t i = 0; i < 3; ++i) ExpectSameMessage(got->messages[i], page.messages[i]);
  EXPECT_TRUE(got->has_more_before);
  EXPECT_FALSE(got->has_more_after);
  EXPECT_EQ(got->head_seq, 42u);
}

TEST(DecodeTest, SyncRoundTripsEventsAndHeads) {
  std::vector<InboxEvent> events;
  for (int t = 1; t <= static_cast<int>(EventType::kEdit); ++t) {
    InboxEvent e;
    e.user_seq = 100 + t;
    e.type = static_cast<EventType>(t);
    e.conv_id = 12;
    e.conv_seq = 41;
    e.actor = 7;
    e.subject = t == 5 || t == 6 ? 9 : 0;
    e.ms = 1763900000000 + t;
    events.push_back(e);
  }
  JsonWriter w = BeginReply(RequestId{uint64_t{3}});
  w.Key("events").BeginArray();
  for (const auto& e : events) {
    WriteEvent(w, e, EventCarriesMessage(e.type) ? MessageJson(MessageFor(e.type)) : "");
  }
  w.EndArray().Key("next").Uint(108).Key("has_more").Bool(true).Key("reset").Bool(true);
  w.Key("heads").BeginArray();
  w.BeginObject().Key("conv").Uint(99).Key("seq").Uint(5000).Key("ts").Int(17).EndObject();
  w.EndArray().Key("heads_next").Uint(31337).EndObject();

  auto got = DecodeSync(w.Take());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->items.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const InboxEvent& e = got->items[i].event;
    EXPECT_EQ(e.user_seq, events[i].user_seq);
    EXPECT_EQ(e.type, events[i].type);
    EXPECT_EQ(e.conv_id, events[i].conv_id);
    EXPECT_EQ(e.conv_seq, events[i].conv_seq);
    EXPECT_EQ(e.actor, events[i].actor);
    EXPECT_EQ(e.subject, events[i].subject);
    EXPECT_EQ(e.ms, events[i].ms);
    bool with_message = EventCarriesMessage(e.type);
    ASSERT_EQ(got->items[i].message.has_value(), with_message);
    if (with_message) ExpectSameMessage(*got->items[i].message, MessageFor(e.type));
  }
  EXPECT_EQ(got->next, 108u);
  EXPECT_TRUE(got->has_more);
  EXPECT_TRUE(got->reset);
  ASSERT_EQ(got->heads.size(), 1u);
  EXPECT_EQ(got->heads[0].conv_id, 99u);
  EXPECT_EQ(got->heads[0].last_seq, 5000u);
  EXPECT_EQ(got->heads[0].last_ms, 17);
  EXPECT_EQ(got->heads_next, 31337u);
}

TEST(DecodeTest, EventsOfUnknownTypesAreSkippedNotFatal) {
  const char frame[] =
      R"({"id":3,"ok":true,"events":[{"user_seq":1,"type":"hologram","conv":1},)"
      R"({"user_seq":2,"type":"read","conv":1,"seq":4,"actor":1,"subject":0,"ts":5}],)"
      R"("next":2,"has_more":false,"reset":false,"heads":[],"heads_next":0})";
  auto got = DecodeSync(frame);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->items.size(), 1u);
  EXPECT_EQ(got->items[0].event.user_seq, 2u);
  EXPECT_EQ(got->next, 2u);

  auto push = DecodePush(R"({"push":"event","event":{"user_seq":3,"type":"hologram","conv":1}})");
  ASSERT_TRUE(push.ok());
  EXPECT_EQ(push->kind, Push::Kind::kUnknown);
}

TEST(DecodeTest, ConversationsMembersAndSummariesRoundTrip) {
  ConversationRecord conv = SampleConversation();
  {
    JsonWriter w = BeginReply(RequestId{uint64_t{9}});
    w.Key("conversation");
    WriteConversation(w, conv);
    w.EndObject();
    auto got = DecodeConversationReply(w.Take());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectSameConversation(*got, conv);
  }
  {
    JsonWriter w = BeginReply(RequestId{uint64_t{9}});
    w.Key("conversation");
    WriteConversation(w, conv);
    w.Key("role").String("admin").EndObject();
    auto got = DecodeConvGet(w.Take());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectSameConversation(got->conv, conv);
    EXPECT_EQ(got->role, Role::kAdmin);
  }
  {
    ConversationSummary s;
    s.conv = conv;
    s.head.last_seq = 41;
    s.head.last_ms = 1763900000123;
    s.role = Role::kOwner;
    s.peer = 0;
    s.read_seq = 40;
    s.unread = 1;
    s.last_message = SampleMessage(false);
    ConversationSummary bare;
    bare.conv.id = 3;
    bare.peer = 8;
    JsonWriter w = BeginReply(RequestId{uint64_t{10}});
    w.Key("conversations").BeginArray();
    WriteSummary(w, s);
    WriteSummary(w, bare);
    w.EndArray().EndObject();
    auto got = DecodeConvs(w.Take());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 2u);
    const ConversationSummary& g = (*got)[0];
    ExpectSameConversation(g.conv, conv);
    EXPECT_EQ(g.head.last_seq, 41u);
    EXPECT_EQ(g.head.last_ms, 1763900000123);
    EXPECT_EQ(g.role, Role::kOwner);
    EXPECT_EQ(g.read_seq, 40u);
    EXPECT_EQ(g.unread, 1u);
    ASSERT_TRUE(g.last_message.has_value());
    ExpectSameMessage(*g.last_message, SampleMessage(false));
    EXPECT_EQ((*got)[1].conv.kind, ConvKind::kDirect);
    EXPECT_EQ((*got)[1].peer, 8u);
    EXPECT_FALSE((*got)[1].last_message.has_value());
  }
  {
    MemberRecord m;
    m.user_id = 7;
    m.role = Role::kAdmin;
    m.joined_ms = 1763000000001;
    JsonWriter w = BeginReply(RequestId{uint64_t{11}});
    w.Key("members").BeginArray();
    WriteMember(w, m);
    w.EndArray().EndObject();
    auto got = DecodeMembers(w.Take());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].user_id, 7u);
    EXPECT_EQ((*got)[0].role, Role::kAdmin);
    EXPECT_EQ((*got)[0].joined_ms, 1763000000001);
  }
}

TEST(DecodeTest, SmallReplies) {
  auto users = DecodeUsers(R"({"id":1,"ok":true,"users":[{"user":1,"name":"alice"},)"
                           R"({"user":2,"name":"bob"}]})");
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[1].name, "bob");
  auto read = DecodeRead(R"({"id":1,"ok":true,"read_seq":12})");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->read_seq, 12u);
  auto edit = DecodeEdit(R"({"id":1,"ok":true,"conv":3,"seq":41,"edited_ms":1763900000555})");
  ASSERT_TRUE(edit.ok()) << edit.status().ToString();
  EXPECT_EQ(edit->conv_id, 3u);
  EXPECT_EQ(edit->seq, 41u);
  EXPECT_EQ(edit->edited_ms, 1763900000555);
  EXPECT_EQ(DecodeEdit(R"({"id":1,"ok":true,"conv":3,"seq":41})").status().code(),
            Code::kCorruption);
  EXPECT_EQ(DecodeEdit(R"({"id":1,"ok":false,"error":"permission_denied","message":"m"})")
                .status()
                .code(),
            Code::kPermissionDenied);
  auto ping = DecodePing(R"({"id":1,"ok":true,"ts":1763900000123})");
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(*ping, 1763900000123);
  auto auth = DecodeLogin(R"({"id":1,"ok":true,"user":1,"name":"alice","device":"laptop"})");
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(auth->token.empty());
}

TEST(DecodeTest, EveryPushKind) {
  auto head = DecodePush(HeadPush(12, 41, 1763900000123));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->kind, Push::Kind::kHead);
  EXPECT_EQ(head->conv, 12u);
  EXPECT_EQ(head->seq, 41u);
  EXPECT_EQ(head->ts, 1763900000123);
  auto typing = DecodePush(TypingPush(12, 7));
  ASSERT_TRUE(typing.ok());
  EXPECT_EQ(typing->kind, Push::Kind::kTyping);
  EXPECT_EQ(typing->user, 7u);
  auto resync = DecodePush(ResyncPush("slow_consumer"));
  ASSERT_TRUE(resync.ok());
  EXPECT_EQ(resync->kind, Push::Kind::kResync);
  EXPECT_EQ(resync->reason, "slow_consumer");
  InboxEvent e;
  e.user_seq = 5;
  e.type = EventType::kRecall;
  e.conv_id = 12;
  auto event = DecodePush(EventPush(e, MessageJson(SampleMessage(true))));
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(event->kind, Push::Kind::kEvent);
  ASSERT_TRUE(event->item.message.has_value());
  EXPECT_TRUE(event->item.message->recalled);
  e.type = EventType::kEdit;
  auto edit = DecodePush(EventPush(e, MessageJson(EditedMessage())));
  ASSERT_TRUE(edit.ok()) << edit.status().ToString();
  EXPECT_EQ(edit->item.event.type, EventType::kEdit);
  ASSERT_TRUE(edit->item.message.has_value());
  ExpectSameMessage(*edit->item.message, EditedMessage());
  auto future = DecodePush(R"({"push":"teleport","where":"mars"})");
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(future->kind, Push::Kind::kUnknown);
}

TEST(DecodeTest, PushesDecodesTheSingleFormAndBatchesInOrder) {
  auto single = DecodePushes(TypingPush(12, 7));
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ((*single)[0].kind, Push::Kind::kTyping);

  InboxEvent e;
  e.type = EventType::kMessage;
  e.conv_id = 12;
  std::string batch(kPushBatchOpen);
  for (Seq seq = 1; seq <= 3; ++seq) {
    e.user_seq = seq;
    batch += EventPush(e, MessageJson(SampleMessage(false))) + ",";
  }
  batch += HeadPush(12, 41, 5) + "," + ResyncPush("slow_consumer") + "," +
           R"({"push":"teleport"})" + std::string(kPushBatchClose);
  auto pushes = DecodePushes(batch);
  ASSERT_TRUE(pushes.ok()) << pushes.status().ToString();
  ASSERT_EQ(pushes->size(), 6u);
  for (Seq seq = 1; seq <= 3; ++seq) {
    const Push& p = (*pushes)[seq - 1];
    EXPECT_EQ(p.kind, Push::Kind::kEvent);
    EXPECT_EQ(p.item.event.user_seq, seq);
    ASSERT_TRUE(p.item.message.has_value());
    ExpectSameMessage(*p.item.message, SampleMessage(false));
  }
  EXPECT_EQ((*pushes)[3].kind, Push::Kind::kHead);
  EXPECT_EQ((*pushes)[4].kind, Push::Kind::kResync);
  EXPECT_EQ((*pushes)[5].kind, Push::Kind::kUnknown);  // forward compatible, as alone
  auto empty = DecodePushes(R"({"push":"events","events":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  // DecodePush reads one push; a batch is not one of its forms.
  auto as_one = DecodePush(batch);
  EXPECT_TRUE(!as_one.ok() || as_one->kind == Push::Kind::kUnknown);
}

TEST(DecodeTest, MalformedBatchesAreErrorsAsAWhole) {
  const char* bad[] = {
      R"({"push":"events"})",                                        // no events
      R"({"push":"events","events":{}})",                            // not an array
      R"({"push":"events","events":[7]})",                           // not an object
      R"({"push":"events","events":[{"push":"typing","conv":1}]})",  // a push without user
      R"({"push":"events","events":[{"push":"head","conv":1,"seq":2},"x"]})",
      R"({"push":"events","events":[{"push":"events","events":[]}]})",   // nested
      R"({"push":"events","events":[{"push":"head","conv":1,"seq":2})",  // truncated
      R"({"events":[]})",                                                // no push field
  };
  for (const char* frame : bad) {
    auto r = DecodePushes(frame);
    ASSERT_FALSE(r.ok()) << frame;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << frame;
  }
}

TEST(DecodeTest, MistypedOrMissingFieldsAreErrorsNamingTheField) {
  auto bad_seq = DecodeSendAck(R"({"id":1,"ok":true,"conv":1,"seq":"1","msg_id":1})");
  ASSERT_FALSE(bad_seq.ok());
  EXPECT_EQ(bad_seq.status().code(), Code::kCorruption);
  EXPECT_NE(bad_seq.status().message().find("'seq'"), std::string::npos)
      << bad_seq.status().message();
  EXPECT_FALSE(DecodeSendAck(R"({"id":1,"ok":true,"conv":1,"msg_id":1})").ok());
  EXPECT_FALSE(DecodeSendAck(R"({"id":1,"conv":1,"seq":1,"msg_id":1})").ok());  // no "ok"
  EXPECT_FALSE(DecodeSendAck(R"({"id":1,"ok":true,"conv":-1,"seq":1,"msg_id":1})").ok());
  EXPECT_FALSE(DecodeSync(R"({"id":1,"ok":true,"events":{},"next":0,"has_more":false})").ok());
  EXPECT_FALSE(DecodeSync(R"({"id":1,"ok":true,"events":[1],"next":0,"has_more":false})").ok());
  // A message inside an event must be a whole message.
  EXPECT_FALSE(DecodePush(R"({"push":"event","event":{"user_seq":1,"type":"message","conv":1,)"
                          R"("message":{"conv":1}}})")
                   .ok());
  EXPECT_FALSE(DecodeHistory(R"({"id":1,"ok":true,"messages":[{"conv":1,"seq":1,"msg_id":1,)"
                             R"("sender":1,"body":7,"ts":1}]})")
                   .ok());
  EXPECT_FALSE(DecodeConvs(R"({"id":1,"ok":true,"conversations":[{"conv":1}]})").ok());
  EXPECT_FALSE(DecodeMembers(R"({"id":1,"ok":true,"members":[{"user":1,"role":2}]})").ok());
  EXPECT_FALSE(DecodePush(R"({"push":7})").ok());
  EXPECT_FALSE(DecodePush(R"({"push":"head","conv":1})").ok());
}

using Decoder = std::function<bool(std::string_view)>;

std::vector<Decoder> AllDecoders() {
  return {
      [](std::string_view f) { return DecodeHeader(f).ok(); },
      [](std::string_view f) { return DecodeErrorInfo(f).ok(); },
      [](std::string_view f) { return DecodeLogin(f).ok(); },
      [](std::string_view f) { return DecodeRegister(f).ok(); },
      [](std::string_view f) { return DecodeUsers(f).ok(); },
      [](std::string_view f) { return DecodeSendAck(f).ok(); },
      [](std::string_view f) { return DecodeSync(f).ok(); },
      [](std::string_view f) { return DecodeHistory(f).ok(); },
      [](std::string_view f) { return DecodeConvs(f).ok(); },
      [](std::string_view f) { return DecodeConversationReply(f).ok(); },
      [](std::string_view f) { return DecodeConvGet(f).ok(); },
      [](std::string_view f) { return DecodeMembers(f).ok(); },
      [](std::string_view f) { return DecodeRead(f).ok(); },
      [](std::string_view f) { return DecodePing(f).ok(); },
      [](std::string_view f) { return DecodePush(f).ok(); },
  };
}

std::vector<std::string> SampleFrames() {
  return {kRegister,
          kLogin,
          kEmptySync,
          kEventPush,
          kSendAck,
          kUnknownOp,
          kRateLimited,
          HeadPush(1, 2, 3),
          ResyncPush("slow_consumer")};
}

TEST(DecodeTest, TruncatedFramesAreErrors) {
  for (const std::string& frame : SampleFrames()) {
    for (size_t n = 0; n < frame.size(); ++n) {
      std::string_view prefix(frame.data(), n);
      for (const auto& decode : AllDecoders()) {
        EXPECT_FALSE(decode(prefix)) << "accepted a truncated frame: " << prefix;
      }
    }
  }
}

TEST(DecodeTest, GarbageNeverCrashes) {
  std::mt19937 rng(20261122);  // fixed: a failure must be reproducible
  const auto decoders = AllDecoders();
  const std::string alphabet = "{}[]\":,0123456789-.eEtruefalsnl \\u\x01\xff";
  for (const std::string& frame : SampleFrames()) {
    for (int round = 0; round < 300; ++round) {
      std::string mutated = frame;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < edits && !mutated.empty(); ++i) {
        size_t at = rng() % mutated.size();
        switch (rng() % 3) {
          case 0:
            mutated[at] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            mutated.erase(at, 1 + rng() % 8);
            break;
          default:
            mutated.insert(at, 1, alphabet[rng() % alphabet.size()]);
        }
      }
      for (const auto& decode : decoders) decode(mutated);  // any verdict, but no crash
    }
  }
  const std::vector<std::string> junk = {"",
                                         " ",
                                         "null",
                                         "42",
                                         "\"s\"",
                                         "[]",
                                         "{",
                                         "}",
                                         "{\"ok\":tru}",
                                         std::string(1, '\0'),
                                         std::string(100000, '[')};
  for (const std::string& j : junk) {
    for (const auto& decode : decoders) EXPECT_FALSE(decode(j)) << j.substr(0, 20);
  }
}

// The server's reply encoders and the client's decoders, side by side in this folder, agree.
TEST(DecodeTest, RepliesTheServerEncodesDecodeBackToTheSameValues) {
  SendAck ack{7, 42, 9001, 1700000000123, true};
  auto decoded = DecodeSendAck(SendAckReply(RequestId{uint64_t{3}}, ack));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->conv_id, 7u);
  EXPECT_EQ(decoded->seq, 42u);
  EXPECT_EQ(decoded->msg_id, 9001u);
  EXPECT_EQ(decoded->server_ms, 1700000000123);
  EXPECT_TRUE(decoded->duplicate);
  EXPECT_EQ(decoded->user_seq, 0u);  // unknown: the field is left out
  EXPECT_EQ(SendAckReply(RequestId{uint64_t{3}}, ack).find("user_seq"), std::string::npos);
  ack.duplicate = false;
  ack.user_seq = 77;
  auto own = DecodeSendAck(SendAckReply(RequestId{uint64_t{4}}, ack));
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->user_seq, 77u);

  ConversationRecord c;
  c.id = 5;
  c.kind = ConvKind::kGroup;
  c.title = "team";
  c.owner = 2;
  c.created_ms = 1700000000000;
  c.member_count = 3;
  auto conv = DecodeConversationReply(ConversationReply(RequestId{std::string("x")}, c));
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  EXPECT_EQ(conv->id, 5u);
  EXPECT_EQ(conv->kind, ConvKind::kGroup);
  EXPECT_EQ(conv->title, "team");
  EXPECT_EQ(conv->owner, 2u);
  EXPECT_EQ(conv->member_count, 3u);
}

}  // namespace
}  // namespace parley
