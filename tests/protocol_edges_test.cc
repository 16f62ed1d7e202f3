// Protocol edges found by a client written from docs/protocol.md alone (issue 10, items
// 12-15): error replies keep the request id, duplicate keys are refused, a reused
// client_msg_id is an idempotency conflict, and every documented limit and error code is
// what the server answers. The real parleyd on a loopback port, real WebSockets; every
// wait is bounded.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/blocking_client.h"
#include "tests/support/gateway_fixture.h"

namespace parley {
namespace {

using client::BlockingClient;
using client::OutgoingMessage;
using json = nlohmann::json;
using namespace std::chrono_literals;

class ProtocolEdgesTest : public testing::GatewayFixture {
 protected:
  // Sends `frame` as is and returns the reply that answered it (a frame with an "ok"
  // member); a null json if none came within the deadline.
  static json RawReply(BlockingClient& c, const std::string& frame) {
    c.SendRaw(frame);
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      auto got = c.NextRawFrame(200ms);
      if (!got) continue;
      json j = json::parse(*got, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("ok")) return j;
    }
    return json();
  }

  static Seq HeadSeq(BlockingClient& c, ConvId conv) {
    auto page = c.History(conv);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? page->head_seq : 0;
  }
};

// Item 12: a lone escaped surrogate or an integer of 2^64 or more used to make the whole
// frame unreadable, and the reply came back with "id": null.
TEST_F(ProtocolEdgesTest, ErrorRepliesKeepTheIdOfFramesRefusedWhole) {
  auto alice = Device("alice", "a1");
  Device("bob", "b1");
  auto conv = alice->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());
  const std::string c = std::to_string(conv->id);
  struct Row {
    std::string frame;
    json id;
    std::string error;
  };
  const std::vector<Row> rows = {
      // JavaScript cut a string in the middle of an emoji.
      {R"({"id":"js-1","op":"send","conv":)" + c +
           R"(,"client_msg_id":"cut-1","body":"cut emoji \ud83d"})",
       "js-1", "invalid_utf8"},
      {R"({"op":"send","conv":)" + c + R"(,"client_msg_id":"cut-2","body":"\ude00","id":41})", 41,
       "invalid_utf8"},
      {R"({"id":"big-1","op":"sync","since":18446744073709551616})", "big-1", "invalid_argument"},
      {R"({"id":42,"op":"history","conv":)" + c + R"(,"before":123456789012345678901234567890})",
       42, "invalid_argument"},
      {R"({"id":"big-3","op":"send","conv":)" + c +
           R"(,"client_msg_id":"big","body":"x","extra":[1,-99999999999999999999]})",
       "big-3", "invalid_argument"},
      // The id itself is what is out of range: no id to echo, and it is the id that is bad.
      {R"({"id":18446744073709551616,"op":"ping"})", nullptr, "bad_request"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.frame);
    json reply = RawReply(*alice, row.frame);
    ASSERT_TRUE(reply.is_object()) << "no reply";
    EXPECT_EQ(reply["id"], row.id) << reply.dump();
    EXPECT_EQ(reply["ok"], false);
    EXPECT_EQ(reply["error"], row.error) << reply.dump();
  }
  // Nothing was stored, and the connection still works.
  EXPECT_EQ(HeadSeq(*alice, conv->id), 0u);
  EXPECT_TRUE(alice->Ping().ok());
  EXPECT_EQ(alice->close_code(), -1);
}

// Item 15: with two equal keys browsers' JSON.parse keeps the last and the server kept the
// first, so a proxy or a log could see another request than the server ran.
TEST_F(ProtocolEdgesTest, DuplicateKeysAreRefusedAsBadJson) {
  auto alice = Device("alice", "a1");
  Device("bob", "b1");
  auto conv = alice->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());
  const std::string c = std::to_string(conv->id);
  json reply = RawReply(*alice, R"({"id":"dup-1","op":"send","conv":)" + c +
                                    R"(,"client_msg_id":"d1","body":"first","body":"second"})");
  EXPECT_EQ(reply["id"], "dup-1") << reply.dump();
  EXPECT_EQ(reply["error"], "bad_json") << reply.dump();
  // Equal once unescaped, and the op itself twice.
  reply = RawReply(*alice, R"({"id":"dup-2","op":"send","conv":)" + c +
                               R"(,"client_msg_id":"d2","\u0062ody":"a","body":"b"})");
  EXPECT_EQ(reply["id"], "dup-2") << reply.dump();
  EXPECT_EQ(reply["error"], "bad_json");
  reply = RawReply(*alice, R"({"id":"dup-3","op":"ping","op":"convs"})");
  EXPECT_EQ(reply["error"], "bad_json") << reply.dump();
  // Two ids: neither can be trusted.
  reply = RawReply(*alice, R"({"id":"dup-4","op":"ping","id":"dup-5"})");
  EXPECT_TRUE(reply["id"].is_null()) << reply.dump();
  EXPECT_EQ(reply["error"], "bad_json");
  EXPECT_EQ(HeadSeq(*alice, conv->id), 0u);
  // Equal keys in nested objects of unknown fields are not the request's.
  reply = RawReply(*alice, R"({"id":"ok-1","op":"ping","x":{"a":1},"y":{"a":2}})");
  EXPECT_EQ(reply["ok"], true) << reply.dump();
}

// Item 14: a retry with the same client_msg_id but another body, kind or conversation got
// the first ack, so the new message was silently lost.
TEST_F(ProtocolEdgesTest, ReusedClientMsgIdIsAnIdempotencyConflictAcrossDevicesAndRestarts) {
  auto phone = Device("alice", "phone");
  auto laptop = Device("alice", "laptop");
  Device("bob", "b1");
  Device("carol", "c1");
  auto conv = phone->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());
  auto message = [&](std::string body, MessageKind kind = MessageKind::kText) {
    OutgoingMessage m;
    m.conv = conv->id;
    m.body = std::move(body);
    m.kind = kind;
    m.client_msg_id = "key-1";
    return m;
  };
  auto first = phone->SendMessage(message("one"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->duplicate);

  auto check = [&](BlockingClient& c) {
    // The same request: the first ack, whichever device retries.
    auto retry = c.SendMessage(message("one"));
    ASSERT_TRUE(retry.ok()) << retry.status().ToString();
    EXPECT_TRUE(retry->duplicate);
    EXPECT_EQ(retry->seq, first->seq);
    EXPECT_EQ(retry->msg_id, first->msg_id);
    // Another body, kind or conversation: refused, nothing stored.
    EXPECT_EQ(c.SendMessage(message("two")).status().code(), Code::kIdempotencyConflict);
    EXPECT_EQ(c.SendMessage(message(R"({"one":1})", MessageKind::kCustom)).status().code(),
              Code::kIdempotencyConflict);
    OutgoingMessage elsewhere = message("one");
    elsewhere.conv = 0;
    elsewhere.to = "carol";
    EXPECT_EQ(c.SendMessage(elsewhere).status().code(), Code::kIdempotencyConflict);
    EXPECT_EQ(HeadSeq(c, conv->id), first->seq);
  };
  check(*phone);
  check(*laptop);

  // The wire name, as documented.
  auto raw = laptop->CallRaw("send", [&](JsonWriter& w) {
    w.Key("conv").Uint(conv->id).Key("client_msg_id").String("key-1").Key("body").String("three");
  });
  EXPECT_EQ(raw.status().code(), Code::kIdempotencyConflict);

  // After a restart, from the stored record alone; an edit of the stored body changes
  // nothing about what the first send asked for.
  phone.reset();
  laptop.reset();
  server_->Kill();  // a crash: acknowledged sends and their dedup records are durable
  ASSERT_TRUE(server_->Restart().ok());
  auto tablet = Device("alice", "tablet");
  ASSERT_TRUE(tablet->Edit(conv->id, first->seq, "edited").ok());
  check(*tablet);
  EXPECT_EQ(tablet->SendMessage(message("edited")).status().code(), Code::kIdempotencyConflict);
  EXPECT_TRUE(tablet->Ping().ok());
}

// Item 13: what docs/protocol.md says each op answers, row by row.
TEST_F(ProtocolEdgesTest, DocumentedLimitsAndErrorCodes) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto carol = Device("carol", "c1");
  auto direct = alice->OpenDirect("bob");
  ASSERT_TRUE(direct.ok());
  auto group = alice->CreateGroup("team", {"bob"});
  ASSERT_TRUE(group.ok());
  auto lonely = carol->CreateGroup("carol and bob", {"bob"});
  ASSERT_TRUE(lonely.ok());
  ASSERT_TRUE(alice->Send(group->id, "hello").ok());
  const ConvId d = direct->id, g = group->id, foreign = lonely->id, nowhere = 999'999;
  const std::string id64(64, 'i'), id65(65, 'i');
  std::string e32;  // 32 characters of 2 bytes: 64 bytes
  for (int i = 0; i < 32; ++i) e32 += "\xC3\xA9";
  std::string ids501 = "[";
  for (int i = 0; i < 501; ++i) ids501 += (i ? ",1" : "1");
  ids501 += "]";
  std::string members10000 = "[";
  for (int i = 0; i < 10'000; ++i) members10000 += (i ? ",2" : "2");
  members10000 += "]";

  struct Row {
    BlockingClient* who;
    std::string op;
    std::string fields;  // the JSON members after op, raw
    Code want;
  };
  auto n = [](uint64_t v) { return std::to_string(v); };
  const std::vector<Row> rows = {
      // Integer range: [0, 2^53); another type is bad_request, a value out of range
      // (negative included) invalid_argument.
      {alice.get(), "sync", R"("since":9007199254740991)", Code::kOk},
      {alice.get(), "sync", R"("since":9007199254740992)", Code::kInvalidArgument},
      {alice.get(), "sync", R"("since":-1)", Code::kInvalidArgument},
      {alice.get(), "sync", R"("since":"5")", Code::kBadRequest},
      {alice.get(), "sync", R"("since":1.5)", Code::kBadRequest},
      {alice.get(), "history", R"("conv":)" + n(g) + R"(,"before":-5)", Code::kInvalidArgument},
      {alice.get(), "history", R"("conv":)" + n(g) + R"(,"around_ts":-1)", Code::kInvalidArgument},
      {alice.get(), "conv.get", R"("conv":18446744073709551615)", Code::kInvalidArgument},
      {alice.get(), "conv.open", R"("user":-2)", Code::kInvalidArgument},
      // limit: 0 is refused; above the maximum it is clamped.
      {alice.get(), "sync", R"("since":0,"limit":0)", Code::kInvalidArgument},
      {alice.get(), "sync", R"("since":0,"limit":1000000)", Code::kOk},
      {alice.get(), "history", R"("conv":)" + n(g) + R"(,"limit":0)", Code::kInvalidArgument},
      {alice.get(), "history", R"("conv":)" + n(g) + R"(,"limit":1000000)", Code::kOk},
      {alice.get(), "search", R"("q":"hello","limit":0)", Code::kInvalidArgument},
      {alice.get(), "search", R"("q":"hello","limit":1000000)", Code::kOk},
      // Id limits: client_msg_id and device ids are 1-64 printable ASCII characters.
      {alice.get(), "send", R"("conv":)" + n(g) + R"(,"body":"x","client_msg_id":")" + id64 + "\"",
       Code::kOk},
      {alice.get(), "send", R"("conv":)" + n(g) + R"(,"body":"x","client_msg_id":")" + id65 + "\"",
       Code::kInvalidArgument},
      {alice.get(), "send", R"("conv":)" + n(g) + R"(,"body":"x","client_msg_id":"a b")",
       Code::kInvalidArgument},
      {alice.get(), "send", R"("conv":)" + n(g) + R"(,"body":"x","client_msg_id":")" + e32 + "\"",
       Code::kInvalidArgument},
      // read
      {alice.get(), "read", R"("conv":)" + n(g) + R"(,"seq":1)", Code::kOk},
      {alice.get(), "read", R"("conv":)" + n(foreign) + R"(,"seq":1)", Code::kNotMember},
      {alice.get(), "read", R"("conv":)" + n(nowhere) + R"(,"seq":1)", Code::kNotMember},
      {alice.get(), "read", R"("conv":)" + n(g) + R"(,"seq":-1)", Code::kInvalidArgument},
      {alice.get(), "read", R"("conv":)" + n(g) + "", Code::kBadRequest},
      // conv.rename
      {bob.get(), "conv.rename", R"("conv":)" + n(g) + R"(,"title":"mine")",
       Code::kPermissionDenied},
      {alice.get(), "conv.rename", R"("conv":)" + n(d) + R"(,"title":"x")",
       Code::kFailedPrecondition},
      {alice.get(), "conv.rename", R"("conv":)" + n(g) + R"(,"title":"")", Code::kInvalidArgument},
      {alice.get(), "conv.rename",
       R"("conv":)" + n(g) + R"(,"title":")" + std::string(257, 't') + "\"",
       Code::kInvalidArgument},
      {alice.get(), "conv.rename", R"("conv":)" + n(nowhere) + R"(,"title":"x")", Code::kNotMember},
      {alice.get(), "conv.rename", R"("conv":)" + n(g) + R"(,"title":"renamed")", Code::kOk},
      // conv.role
      {bob.get(), "conv.role", R"("conv":)" + n(g) + R"(,"user":"bob","role":"admin")",
       Code::kPermissionDenied},
      {alice.get(), "conv.role", R"("conv":)" + n(g) + R"(,"user":"bob","role":"owner")",
       Code::kInvalidArgument},
      {alice.get(), "conv.role", R"("conv":)" + n(g) + R"(,"user":"carol","role":"admin")",
       Code::kNotMember},
      {alice.get(), "conv.role", R"("conv":)" + n(g) + R"(,"user":"nobody","role":"admin")",
       Code::kNotFound},
      {alice.get(), "conv.role", R"("conv":)" + n(d) + R"(,"user":"bob","role":"admin")",
       Code::kFailedPrecondition},
      {alice.get(), "conv.role", R"("conv":)" + n(g) + R"(,"user":"bob","role":"admin")",
       Code::kOk},
      // conv.add / conv.remove / conv.leave on a direct conversation, or one that does not
      // exist (answered like a foreign one).
      {alice.get(), "conv.add", R"("conv":)" + n(d) + R"(,"users":["carol"])",
       Code::kFailedPrecondition},
      {alice.get(), "conv.add", R"("conv":)" + n(nowhere) + R"(,"users":["carol"])",
       Code::kNotMember},
      {alice.get(), "conv.add", R"("conv":)" + n(foreign) + R"(,"users":["bob"])",
       Code::kNotMember},
      {alice.get(), "conv.remove", R"("conv":)" + n(d) + R"(,"user":"bob")",
       Code::kFailedPrecondition},
      {alice.get(), "conv.leave", R"("conv":)" + n(d), Code::kFailedPrecondition},
      // List sizes: a value out of range; a member list longer than any group can be.
      {alice.get(), "users", R"("ids":)" + ids501, Code::kInvalidArgument},
      {alice.get(), "conv.create", R"("title":"huge","members":)" + members10000,
       Code::kResourceExhausted},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.op + " " + row.fields.substr(0, 120));
    auto reply = row.who->CallRaw(row.op, [&](JsonWriter& w) { w.Raw(row.fields); });
    EXPECT_EQ(reply.status().code(), row.want) << reply.status().ToString();
    if (reply.ok() || reply.status().code() != Code::kUnavailable) continue;
    FAIL() << "the connection broke";
  }
  for (auto* c : {alice.get(), bob.get(), carol.get()}) EXPECT_TRUE(c->Ping().ok());

  // Request ids are limited in bytes: 64 bytes fit, whatever the characters.
  auto fresh = Connect();
  json reply = RawReply(*fresh, R"({"id":")" + e32 + R"(","op":"ping"})");
  EXPECT_EQ(reply["id"], e32) << reply.dump();
  EXPECT_EQ(reply["ok"], true);
  reply = RawReply(*fresh, R"({"id":")" + e32 + "\xC3\xA9" + R"(","op":"ping"})");
  EXPECT_TRUE(reply["id"].is_null()) << reply.dump();
  EXPECT_EQ(reply["error"], "bad_request");
  reply = RawReply(*fresh, R"({"id":")" + id65 + R"(","op":"ping"})");
  EXPECT_EQ(reply["error"], "bad_request");

  // login: invalid_argument for a malformed device id; register: rate_limited per connection.
  auto bad_device = fresh->Login("alice", "alice-password", "has space");
  EXPECT_EQ(bad_device.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(fresh->Register("x", "password-1").status().code(), Code::kInvalidArgument);
  bool limited = false;
  for (int i = 0; i < 60 && !limited; ++i) {
    auto r = fresh->Register("limit" + std::to_string(i), "password-1");
    limited = r.status().code() == Code::kRateLimited;
  }
  EXPECT_TRUE(limited) << "register was never rate limited";
}

}  // namespace
}  // namespace parley
