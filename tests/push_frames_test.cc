// Frames per message, end to end (the real parleyd, real WebSockets): a send's ack carries
// the sender's own user_seq and its own event is not pushed back to the sending session
// (the user's other sessions still get it), and clients that ask for push batches get
// queued pushes coalesced into {"push":"events",…} frames — each event exactly once, in
// order — while the others keep one push per frame. Every wait is bounded by a deadline.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>

#include "client/blocking_client.h"
#include "client/reliable_client.h"
#include "tests/support/gateway_fixture.h"

namespace parley {
namespace {

using client::BlockingClient;
using namespace std::chrono_literals;

// What an app keeps of a login for its reliable client.
client::SessionState Credentials(const LoginReply& login) {
  client::SessionState s;
  s.token = login.token;
  s.device = login.device;
  return s;
}

class PushFramesTest : public testing::GatewayFixture {
 protected:
  // Bursts of pipelined sends must not be paced.
  void SetUp() override {
    StartServer(
        "[limits]\nsend_rate_per_conn = 1e6\nsend_burst_per_conn = 1e6\n"
        "send_rate_per_user = 1e6\nsend_burst_per_user = 1e6\n");
  }

  // A second connection of a device that is logged in already (same token, same device).
  std::unique_ptr<BlockingClient> Resume(const LoginReply& login, bool batches) {
    auto o = Options();
    o.push_batches = batches;
    auto c = std::make_unique<BlockingClient>(o, 30s);
    EXPECT_TRUE(c->Connect().ok());
    auto auth = c->Auth(login.token, login.device);
    EXPECT_TRUE(auth.ok()) << auth.status().ToString();
    return c;
  }

  // Sends `count` messages to `conv` without waiting for their acks (so the server commits
  // them in few batches), then waits for every ack. Bodies are "0".."count-1".
  static void Burst(BlockingClient& c, ConvId conv, int count) {
    for (int i = 0; i < count; ++i) {
      c.SendRaw(R"({"id":)" + std::to_string(1000 + i) + R"(,"op":"send","conv":)" +
                std::to_string(conv) + R"(,"client_msg_id":"burst-)" + std::to_string(i) +
                R"(","body":")" + std::to_string(i) + "\"}");
    }
    int acked = 0;
    const auto end = std::chrono::steady_clock::now() + 30s;
    while (acked < count && std::chrono::steady_clock::now() < end) {
      auto frame = c.NextRawFrame(100ms);
      if (frame && frame->find("\"ok\":true") != std::string::npos) ++acked;
    }
    ASSERT_EQ(acked, count);
  }

  static uint64_t MetricValue(const std::string& metrics, const std::string& series) {
    auto at = metrics.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(metrics.substr(at + series.size() + 2));
  }
};

TEST_F(PushFramesTest, SenderSessionGetsItsUserSeqInTheAckAndNoPushOfItsOwnEvent) {
  LoginReply laptop;
  auto a1 = Device("alice", "a-laptop", &laptop);
  auto a1_again = Resume(laptop, false);  // another connection of the same device
  auto a2 = Device("alice", "a-phone");
  auto b = Device("bob", "b-phone");

  auto ack = a1->SendTo("bob", "hello bob");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_GT(ack->user_seq, 0u);
  for (BlockingClient* c : {a1_again.get(), a2.get()}) {
    auto got = MessagePushes(*c, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].event.user_seq, ack->user_seq);  // the ack named the event they got
    EXPECT_EQ(got[0].message->body, "hello bob");
  }
  ASSERT_EQ(MessagePushes(*b, 1).size(), 1u);

  // Bob answers: the first push the sending session sees is his message, right after its
  // own user_seq — its own event never came.
  auto reply = b->SendTo("alice", "hi alice");
  ASSERT_TRUE(reply.ok());
  auto got = MessagePushes(*a1, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message->body, "hi alice");
  EXPECT_EQ(got[0].event.user_seq, ack->user_seq + 1);
  // A sync still has the sender's own event (a reconnect catches up as always).
  auto sync = a1->Sync(ack->user_seq - 1);
  ASSERT_TRUE(sync.ok());
  ASSERT_GE(sync->items.size(), 1u);
  EXPECT_EQ(sync->items[0].event.user_seq, ack->user_seq);
}

TEST_F(PushFramesTest, OptedInSessionGetsEveryEventOnceInOrderOthersGetSingleFrames) {
  LoginReply bob_login;
  auto b_batched = Device("bob", "b-laptop", &bob_login);
  b_batched.reset();
  auto batched = Resume(bob_login, true);
  auto single = Device("bob", "b-phone");  // did not ask for batches
  auto a = Device("alice", "a1");
  auto conv = a->OpenDirect("bob");
  ASSERT_TRUE(conv.ok());

  constexpr int kCount = 200;
  Burst(*a, conv->id, kCount);

  // The opted-in session: every message once, in order, in batch and single frames.
  std::vector<std::string> bodies;
  std::vector<Seq> seqs;
  size_t frames = 0, batch_frames = 0;
  auto end = std::chrono::steady_clock::now() + 30s;
  while (bodies.size() < kCount && std::chrono::steady_clock::now() < end) {
    auto frame = batched->NextPushFrame(100ms);
    if (!frame) continue;
    ++frames;
    auto pushes = DecodePushes(*frame);
    ASSERT_TRUE(pushes.ok()) << pushes.status().ToString() << " in " << *frame;
    if (frame->starts_with(R"({"push":"events",)")) {
      ++batch_frames;
      EXPECT_GE(pushes->size(), 2u) << "a lone push keeps its single form";
    }
    for (const Push& p : *pushes) {
      if (p.kind != Push::Kind::kEvent || p.item.event.type != EventType::kMessage) continue;
      seqs.push_back(p.item.event.user_seq);
      bodies.push_back(p.item.message->body);
    }
  }
  ASSERT_EQ(bodies.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(bodies[i], std::to_string(i));
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
  EXPECT_GT(batch_frames, 0u) << "200 pipelined sends commit in batches of several";
  EXPECT_LT(frames, static_cast<size_t>(kCount));

  // The session that did not ask: one push per frame, the old form exactly.
  size_t messages = 0;
  end = std::chrono::steady_clock::now() + 30s;
  while (messages < kCount && std::chrono::steady_clock::now() < end) {
    auto frame = single->NextPushFrame(100ms);
    if (!frame) continue;
    EXPECT_FALSE(frame->starts_with(R"({"push":"events",)")) << *frame;
    auto push = DecodePush(*frame);
    ASSERT_TRUE(push.ok()) << *frame;
    if (push->kind == Push::Kind::kEvent && push->item.event.type == EventType::kMessage) {
      ++messages;
    }
  }
  EXPECT_EQ(messages, static_cast<size_t>(kCount));
}

TEST_F(PushFramesTest, ReliableSenderStepsOverItsOwnSeqsWithoutSyncing) {
  LoginReply alice;
  Device("alice", "a1", &alice)->Close();
  auto b = Device("bob", "b1");
  auto conv = b->OpenDirect("alice");
  ASSERT_TRUE(conv.ok());

  client::MemoryStateStore state;
  ASSERT_TRUE(state.Save(Credentials(alice)).ok());
  std::mutex mu;
  std::vector<std::string> handled;
  client::ReliableClient::Options opts;
  opts.connect.url = server_->url();
  client::ReliableClient a(opts, &state, [&](const SyncItem& item) {
    std::lock_guard<std::mutex> lock(mu);
    if (item.message) handled.push_back(item.message->body);
  });
  a.Start();
  // Alice's sends and Bob's interleave, so her own seqs sit between his.
  constexpr int kRounds = 20;
  Seq last_own = 0;
  for (int i = 0; i < kRounds; ++i) {
    auto mine = a.Send(conv->id, "a" + std::to_string(i));
    ASSERT_EQ(mine.wait_for(20s), std::future_status::ready);
    auto ack = mine.get();
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    last_own = ack->user_seq;
    ASSERT_TRUE(b->Send(conv->id, "b" + std::to_string(i)).ok());
  }
  const Seq last = last_own + 1;  // Bob's last message follows her last own one
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (a.cursor() < last && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);  // polling the client's progress
  }
  a.Stop();
  EXPECT_EQ(a.cursor(), last);
  EXPECT_EQ(state.Load()->cursor, last);  // persisted
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(handled.size(), static_cast<size_t>(kRounds));  // Bob's; hers are her acks
    for (int i = 0; i < kRounds; ++i) EXPECT_EQ(handled[i], "b" + std::to_string(i));
  }
  auto metrics = server_->HttpGet("/metrics");
  ASSERT_TRUE(metrics.ok());
  // One sync: the catch-up after connecting. A gap at each own seq would have cost more.
  EXPECT_EQ(MetricValue(*metrics, "parley_sync_latency_seconds_count"), 1u);
}

}  // namespace
}  // namespace parley
