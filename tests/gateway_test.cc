// End-to-end tests of the gateway: the real parleyd on a free loopback port, real
// WebSocket clients from the client library. Every wait is bounded by a deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <set>
#include <thread>

#include "client/blocking_client.h"
#include "client/reliable_client.h"
#include "tests/support/gateway_fixture.h"

namespace parley {
namespace {

using client::BlockingClient;
using client::ConnectOptions;
using namespace std::chrono_literals;

using GatewayTest = testing::GatewayFixture;

TEST_F(GatewayTest, HealthReadinessAndMetrics) {
  int code = 0;
  EXPECT_EQ(server_->HttpGet("/healthz", &code).value(), "ok\n");
  EXPECT_EQ(code, 200);
  EXPECT_EQ(server_->HttpGet("/readyz", &code).value(), "ready\n");
  EXPECT_EQ(code, 200);
  auto metrics = server_->HttpGet("/metrics", &code);
  EXPECT_EQ(code, 200);
  EXPECT_NE(metrics->find("# TYPE parley_connections gauge"), std::string::npos);
  EXPECT_NE(metrics->find("parley_send_latency_seconds_bucket"), std::string::npos);
  server_->HttpGet("/nope", &code).status().IgnoreError();
  EXPECT_EQ(code, 404);
}

TEST_F(GatewayTest, OnlinePushReachesEveryDeviceIncludingTheSendersOthers) {
  auto a1 = Device("alice", "a-laptop");
  auto a2 = Device("alice", "a-phone");
  auto b1 = Device("bob", "b-laptop");
  auto b2 = Device("bob", "b-phone");
  auto ack = a1->SendTo("bob", "hello bob");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  // Not a1: the sending session learns its own event from the ack (push_frames_test).
  for (BlockingClient* c : {a2.get(), b1.get(), b2.get()}) {
    auto got = MessagePushes(*c, 1);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_TRUE(got[0].message.has_value());
    EXPECT_EQ(got[0].message->body, "hello bob");
    EXPECT_EQ(got[0].message->seq, ack->seq);
  }
}

TEST_F(GatewayTest, OfflineDeviceCatchesUpExactlyOnceInOrder) {
  LoginReply bob_phone;
  Device("bob", "b-phone", &bob_phone)->Close();  // logged in once, then offline
  auto a = Device("alice", "a-laptop");
  auto conv = a->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());
  constexpr int kCount = 1000;
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(a->Send(conv->id, "m" + std::to_string(i)).ok());

  client::MemoryStateStore state;
  client::SessionState s;
  s.token = bob_phone.token;
  s.device = bob_phone.device;
  ASSERT_TRUE(state.Save(s).ok());
  std::mutex mu;
  std::vector<std::string> bodies;
  std::vector<Seq> user_seqs;
  client::ReliableClient::Options opts;
  opts.connect.url = server_->url();
  client::ReliableClient phone(opts, &state, [&](const SyncItem& item) {
    std::lock_guard<std::mutex> lock(mu);
    user_seqs.push_back(item.event.user_seq);
    if (item.event.type == EventType::kMessage) bodies.push_back(item.message->body);
  });
  phone.Start();
  auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (bodies.size() >= kCount) break;
    }
    std::this_thread::sleep_for(10ms);  // polling the handler's progress
  }
  phone.Stop();
  ASSERT_EQ(bodies.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(bodies[i], "m" + std::to_string(i));
  for (size_t i = 1; i < user_seqs.size(); ++i) EXPECT_EQ(user_seqs[i], user_seqs[i - 1] + 1);
}

TEST_F(GatewayTest, NewDeviceRoamsTheFullHistory) {
  Device("bob", "b0")->Close();
  auto a = Device("alice", "a1");
  auto conv = a->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());
  for (int i = 1; i <= 230; ++i) ASSERT_TRUE(a->Send(conv->id, std::to_string(i)).ok());
  auto fresh = Device("bob", "brand-new");
  std::vector<MessageRecord> all;
  client::HistoryQuery q;
  q.limit = 50;
  for (int page = 0; page < 10; ++page) {
    auto p = fresh->History(conv->id, q);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    all.insert(all.begin(), p->messages.begin(), p->messages.end());
    if (!p->has_more_before) break;
    q.before = p->messages.front().seq;
  }
  ASSERT_EQ(all.size(), 230u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].body, std::to_string(i + 1));
}

TEST_F(GatewayTest, RetriedSendDoesNotDuplicate) {
  Device("bob", "b0")->Close();
  auto a = Device("alice", "a1");
  auto first = a->SendTo("bob", "once", "cmid-42");
  auto again = a->SendTo("bob", "once", "cmid-42");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(first->seq, again->seq);
  EXPECT_EQ(a->History(first->conv_id)->messages.size(), 1u);
}

TEST_F(GatewayTest, GroupOfFiftyGetsEveryMessage) {
  constexpr int kMembers = 50, kMessages = 20;
  std::vector<std::unique_ptr<BlockingClient>> members;
  std::vector<client::UserArg> names;
  for (int i = 0; i < kMembers; ++i) {
    members.push_back(Device("member" + std::to_string(i), "d"));
    if (i > 0) names.emplace_back("member" + std::to_string(i));
  }
  auto group = members[0]->CreateGroup("fifty", names);
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_EQ(group->member_count, static_cast<uint32_t>(kMembers));
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(members[0]->Send(group->id, "g" + std::to_string(i)).ok());
  // Every member but the sending session, which learns its own events from its acks.
  for (size_t n = 1; n < members.size(); ++n) {
    auto got = MessagePushes(*members[n], kMessages);
    ASSERT_EQ(got.size(), static_cast<size_t>(kMessages));
    for (int i = 0; i < kMessages; ++i) EXPECT_EQ(got[i].message->body, "g" + std::to_string(i));
  }
}

TEST_F(GatewayTest, EditReachesEveryDeviceAndOnlyTheSenderMayEdit) {
  auto a1 = Device("alice", "a-laptop");
  auto a2 = Device("alice", "a-phone");
  auto b1 = Device("bob", "b-laptop");
  auto ack = a1->SendTo("bob", "helo bob");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  for (BlockingClient* c : {a2.get(), b1.get()}) ASSERT_EQ(MessagePushes(*c, 1).size(), 1u);

  auto edit = a1->Edit(ack->conv_id, ack->seq, "hello bob");
  ASSERT_TRUE(edit.ok()) << edit.status().ToString();
  EXPECT_EQ(edit->conv_id, ack->conv_id);
  EXPECT_EQ(edit->seq, ack->seq);
  EXPECT_GE(edit->edited_ms, ack->server_ms);
  // The sender's other device and the peer get an `edit` push carrying the new body.
  for (BlockingClient* c : {a2.get(), b1.get()}) {
    std::optional<SyncItem> got;
    auto end = std::chrono::steady_clock::now() + 20s;
    while (!got && std::chrono::steady_clock::now() < end) {
      auto p = c->NextPush(100ms);
      if (p && p->kind == Push::Kind::kEvent && p->item.event.type == EventType::kEdit) {
        got = p->item;
      }
    }
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->event.conv_seq, ack->seq);
    ASSERT_TRUE(got->message.has_value());
    EXPECT_EQ(got->message->body, "hello bob");
    EXPECT_EQ(got->message->edited_ms, edit->edited_ms);
  }

  // The peer may not edit alice's message, and nothing changes.
  auto hijack = b1->Edit(ack->conv_id, ack->seq, "hijacked");
  EXPECT_EQ(hijack.status().code(), Code::kPermissionDenied);
  auto page = b1->History(ack->conv_id);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0].body, "hello bob");
  EXPECT_EQ(page->messages[0].edited_ms, edit->edited_ms);
  auto sync = a2->Sync(0);
  ASSERT_TRUE(sync.ok());
  ASSERT_FALSE(sync->items.empty());
  EXPECT_EQ(sync->items.back().event.type, EventType::kEdit);  // no event for the refusal
}

// Sends a raw frame and expects an error reply with `code`; the connection stays usable.
void ExpectError(BlockingClient& c, std::string frame, const char* code, bool binary = false) {
  if (binary) {
    c.SendBinary(std::move(frame));
  } else {
    c.SendRaw(std::move(frame));
  }
  auto reply = c.NextRawFrame(10s);
  ASSERT_TRUE(reply.has_value()) << "no reply for " << code;
  EXPECT_EQ(DecodeError(*reply).code(), CodeFromWire(code)) << *reply;
  EXPECT_TRUE(c.Ping().ok()) << "connection unusable after " << code;
}

TEST_F(GatewayTest, BadInputGetsStableErrorsAndChangesNothing) {
  Device("bob", "b0")->Close();
  auto a = Device("alice", "a1");
  auto conv = a->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(a->Send(conv->id, "before").ok());
  auto carol = Device("carol", "c1");

  ExpectError(*a, "not json at all", "bad_json");
  ExpectError(*a, "[1,2]", "bad_json");
  ExpectError(*a, R"({"op":"ping"})", "bad_request");
  ExpectError(*a, R"({"id":"x"})", "bad_request");
  ExpectError(*a, R"({"id":"x","op":"launch"})", "unknown_op");
  ExpectError(*a, R"({"id":"x","op":"send","conv":"one","client_msg_id":"z","body":"b"})",
              "bad_request");
  ExpectError(*a, R"({"id":"x","op":"send","conv":1,"client_msg_id":"z"})", "bad_request");
  ExpectError(*a, R"({"id":"x","op":"send","conv":1,"client_msg_id":"z","body":""})",
              "invalid_argument");
  ExpectError(*a, R"({"id":"x","op":"send","conv":1,"client_msg_id":"z","body":"\udc00"})",
              "invalid_utf8");
  // A negative integer is the right type with a value out of range (docs/protocol.md §1).
  ExpectError(*a, R"({"id":"x","op":"sync","since":-5})", "invalid_argument");
  ExpectError(*a,
              R"({"id":"x","op":"send","conv":1,"client_msg_id":"z","body":")" +
                  std::string(70000, 'x') + "\"}",
              "too_large");
  ExpectError(*a, "binary!", "binary_not_supported", /*binary=*/true);
  ExpectError(*carol, R"({"id":"x","op":"history","conv":)" + std::to_string(conv->id) + "}",
              "not_member");
  ExpectError(*carol,
              R"({"id":"x","op":"send","conv":)" + std::to_string(conv->id) +
                  R"(,"client_msg_id":"q","body":"intrude"})",
              "not_member");
  ExpectError(*carol, R"({"id":"x","op":"send","conv":999999,"client_msg_id":"q","body":"x"})",
              "not_member");
  ExpectError(*a, R"({"id":"x","op":"recall","conv":1,"seq":999})", "not_found");
  const std::string edit = R"({"id":"x","op":"edit","conv":)" + std::to_string(conv->id);
  ExpectError(*a, edit + R"(,"seq":999,"body":"x"})", "not_found");
  ExpectError(*a, edit + R"(,"seq":1,"body":""})", "invalid_argument");
  ExpectError(*a, edit + R"(,"seq":1})", "bad_request");
  ExpectError(*carol, edit + R"(,"seq":1,"body":"x"})", "not_member");

  auto anon = Connect();
  ExpectError(*anon, R"({"id":"x","op":"sync","since":0})", "unauthenticated");
  ExpectError(*anon, R"({"id":"x","op":"auth","token":"0000"})", "unauthenticated");
  ExpectError(*anon, R"({"id":"x","op":"login","name":"alice","password":"wrong-password"})",
              "unauthenticated");

  auto page = a->History(conv->id);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);  // nothing was stored by the bad requests
  EXPECT_EQ(page->messages[0].body, "before");
  EXPECT_TRUE(a->Send(conv->id, "after").ok());
}

// A raw WebSocket client over a plain socket: it can send what the library refuses to
// (invalid UTF-8, huge frames) and it can stop reading.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    std::string req =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
    std::string resp;
    char ch;
    while (resp.find("\r\n\r\n") == std::string::npos && ::recv(fd_, &ch, 1, 0) == 1) resp += ch;
    EXPECT_NE(resp.find(" 101 "), std::string::npos);
  }
  ~RawSocket() { ::close(fd_); }

  void SendFrame(const std::string& payload, uint8_t opcode = 1) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    const uint8_t mask[4] = {1, 2, 3, 4};
    if (payload.size() < 126) {
      f += static_cast<char>(0x80 | payload.size());
    } else if (payload.size() < 65536) {
      f += static_cast<char>(0x80 | 126);
      f += static_cast<char>(payload.size() >> 8);
      f += static_cast<char>(payload.size() & 0xFF);
    } else {
      f += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i) f += static_cast<char>((payload.size() >> (8 * i)) & 0xFF);
    }
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    ::send(fd_, f.data(), f.size(), MSG_NOSIGNAL);
  }

  // Reads frames until a close frame; returns its code (-1 if none came).
  int ReadUntilClose() {
    for (int i = 0; i < 10000; ++i) {
      uint8_t h[2];
      if (!ReadN(h, 2)) return -1;
      uint64_t n = h[1] & 0x7F;
      if (n == 126) {
        uint8_t e[2];
        if (!ReadN(e, 2)) return -1;
        n = (e[0] << 8) | e[1];
      } else if (n == 127) {
        uint8_t e[8];
        if (!ReadN(e, 8)) return -1;
        n = 0;
        for (uint8_t b : e) n = (n << 8) | b;
      }
      std::string payload(n, '\0');
      if (n && !ReadN(reinterpret_cast<uint8_t*>(payload.data()), n)) return -1;
      if ((h[0] & 0x0F) == 8) {
        return n >= 2 ? (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1])
                      : 0;
      }
    }
    return -1;
  }

 private:
  bool ReadN(uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int fd_ = -1;
};

TEST_F(GatewayTest, InvalidUtf8BytesCloseWith1007AndHugeFramesWith1009) {
  {
    RawSocket raw(server_->port());
    raw.SendFrame("{\"id\":1,\"op\":\"ping\",\"x\":\"\xC3\x28\"}");
    EXPECT_EQ(raw.ReadUntilClose(), 1007);
  }
  {
    RawSocket raw(server_->port());
    raw.SendFrame(std::string(1100 * 1024, 'x'));
    EXPECT_EQ(raw.ReadUntilClose(), 1009);
  }
  EXPECT_TRUE(Connect()->Ping().ok());  // the server is fine
}

class LimitsTest : public GatewayTest {
 protected:
  void SetUp() override {
    StartServer(
        "[session]\nauth_timeout_ms = 300\n"
        "[limits]\nsend_rate_per_conn = 5\nsend_burst_per_conn = 5\nmax_errors = 20\n");
  }
};

// Over the connection's rate a send is paced (reading pauses), not refused: the 6th to 8th
// sends at 5/s after a burst of 5 wait about 200 ms each. tests/limits_test.cc has more.
TEST_F(LimitsTest, SendsOverTheRateArePacedNotRefused) {
  Device("bob", "b0")->Close();
  auto a = Device("alice", "a1");
  auto conv = a->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) {
    auto r = a->Send(conv->id, "x", "r" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->seq, static_cast<Seq>(i + 1));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_TRUE(a->Ping().ok());
}

TEST_F(LimitsTest, UnauthenticatedConnectionsAreClosedAfterTheDeadline) {
  auto c = Connect();
  ASSERT_TRUE(c->WaitClosed(10s));
  EXPECT_EQ(c->close_code(), 1008);
}

TEST_F(LimitsTest, RepeatedAbuseClosesTheConnection) {
  auto a = Device("alice", "a1");
  for (int i = 0; i < 25; ++i) a->SendRaw("garbage");
  ASSERT_TRUE(a->WaitClosed(10s));
  EXPECT_EQ(a->close_code(), 1008);
}

class SlowConsumerTest : public GatewayTest {
 protected:
  void SetUp() override {
    StartServer(
        "[session]\noutbox_max_frames = 64\n"
        "[limits]\nsend_rate_per_conn = 1e6\nsend_burst_per_conn = 1e6\n"
        "send_rate_per_user = 1e6\nsend_burst_per_user = 1e6\n");
  }
};

TEST_F(SlowConsumerTest, DoesNotStallOthersAndMemoryStaysBounded) {
  auto owner = Device("owner", "o");
  auto fast = Device("fast", "f");
  LoginReply slow_login;
  Device("slow", "s", &slow_login)->Close();
  auto group = owner->CreateGroup("busy", {"fast", "slow"});
  ASSERT_TRUE(group.ok());

  RawSocket slow(server_->port());  // authenticates, then never reads
  slow.SendFrame(R"({"id":1,"op":"auth","token":")" + slow_login.token + "\"}");
  const size_t rss_before = server_->RssKib();
  constexpr int kMessages = 3000;
  const std::string body(4000, 'x');  // 12 MB in all: more than the socket buffers hold
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(owner->Send(group->id, body + std::to_string(i)).ok());
  }
  auto got = MessagePushes(*fast, kMessages, 60s);
  EXPECT_EQ(got.size(), static_cast<size_t>(kMessages));
  const size_t rss_after = server_->RssKib();
  EXPECT_LT(rss_after, rss_before + 64 * 1024)
      << "server memory grew by " << (rss_after - rss_before) << " KiB";
  auto metrics = server_->HttpGet("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->find("parley_pushes_dropped_total 0\n"), std::string::npos)
      << "nothing was dropped";
}

TEST_F(GatewayTest, GracefulShutdownSays1001) {
  auto a = Device("alice", "a1");
  auto stopped = server_->Stop();
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);
  ASSERT_TRUE(a->WaitClosed(10s));
  EXPECT_EQ(a->close_code(), 1001);
}

TEST_F(GatewayTest, KillDuringSendsLosesAndDuplicatesNothing) {
  LoginReply alice, bob1, bob2;
  Device("alice", "a1", &alice)->Close();
  Device("bob", "b1", &bob1)->Close();
  Device("bob", "b2", &bob2)->Close();
  ConvId conv = 0;
  {
    auto a = Device("alice", "a1", &alice);
    conv = a->OpenDirect("bob")->id;
  }
  auto make_state = [](const LoginReply& l) {
    auto s = std::make_unique<client::MemoryStateStore>();
    client::SessionState st;
    st.token = l.token;
    st.device = l.device;
    EXPECT_TRUE(s->Save(st).ok());
    return s;
  };
  client::ReliableClient::Options opts;
  opts.connect.url = server_->url();
  opts.backoff_max_ms = 200;
  auto alice_state = make_state(alice);
  std::map<std::string, std::vector<std::string>> seen;  // device → message bodies in order
  std::mutex mu;
  auto recorder = [&](const std::string& device) {
    return [&, device](const SyncItem& item) {
      if (item.event.type != EventType::kMessage) return;
      std::lock_guard<std::mutex> lock(mu);
      seen[device].push_back(item.message->body);
    };
  };
  auto b1_state = make_state(bob1), b2_state = make_state(bob2);
  client::ReliableClient sender(opts, alice_state.get(), [](const SyncItem&) {});
  client::ReliableClient d1(opts, b1_state.get(), recorder("b1"));
  client::ReliableClient d2(opts, b2_state.get(), recorder("b2"));
  sender.Start();
  d1.Start();
  d2.Start();

  constexpr int kMessages = 400;
  std::vector<std::future<Result<SendAck>>> acks;
  for (int i = 0; i < kMessages; ++i) {
    acks.push_back(sender.Send(conv, "k" + std::to_string(i)));
    if (i == kMessages / 2) {
      server_->Kill();  // a crash in the middle of the stream
      ASSERT_TRUE(server_->Restart().ok());
    }
  }
  for (auto& f : acks) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  auto end = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (seen["b1"].size() >= kMessages && seen["b2"].size() >= kMessages) break;
    }
    std::this_thread::sleep_for(20ms);  // polling the handlers' progress
  }
  sender.Stop();
  d1.Stop();
  d2.Stop();
  for (const char* device : {"b1", "b2"}) {
    const auto& bodies = seen[device];
    ASSERT_EQ(bodies.size(), static_cast<size_t>(kMessages)) << device;
    std::set<std::string> unique(bodies.begin(), bodies.end());
    EXPECT_EQ(unique.size(), bodies.size()) << device << " got duplicates";
  }
  // The journal sends in order, so the stored order is the send order.
  EXPECT_EQ(seen["b1"], seen["b2"]);
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(seen["b1"][i], "k" + std::to_string(i));
  EXPECT_EQ(sender.pending_sends(), 0u);
}

}  // namespace
}  // namespace parley
