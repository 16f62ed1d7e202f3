// Rate limits against a real parleyd (issue 10, items 7 and 8): sends over their rate are
// paced, not refused, and commit in the order the connection sent them; a refusal comes only
// far past the per-user limit, with a realistic retry_after_ms, so a client that waits as
// told does not storm; membership changes and typing notices are limited per user across
// all of that user's connections.
//
// PARLEY_TEST_PARLEYD=/path/to/parleyd runs these tests against another build (to check
// that they fail on an older server).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "protocol/decode.h"
#include "protocol/json_writer.h"
#include "tests/support/gateway_fixture.h"

namespace parley::testing {
namespace {

using Clock = std::chrono::steady_clock;

class RateLimitTest : public GatewayFixture {
 protected:
  void SetUp() override {}  // each test starts the server with its own limits

  void Start(const std::string& limits) {
    ServerOptions opts;
    opts.config_toml = std::string(kFastHashes) + limits;
    if (const char* path = std::getenv("PARLEY_TEST_PARLEYD")) opts.parleyd_path = path;
    auto s = ServerProcess::Start(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
};

// Where a pipelined send goes: a conversation, or a user (`to`).
struct Target {
  ConvId conv = 0;
  std::string to;
};

std::string SendFrame(uint64_t id, const Target& t, const std::string& cmid) {
  JsonWriter w;
  w.BeginObject().Key("id").Uint(id).Key("op").String("send");
  if (t.conv != 0) {
    w.Key("conv").Uint(t.conv);
  } else {
    w.Key("to").String(t.to);
  }
  w.Key("client_msg_id").String(cmid).Key("body").String("m " + cmid).EndObject();
  return w.Take();
}

struct PipelineResult {
  std::vector<Seq> seqs;  // by message index; 0: never acknowledged
  std::vector<ConvId> convs;
  int refusals = 0;
  int rounds = 0;                    // times the refused messages were resent
  std::vector<int64_t> retry_hints;  // retry_after_ms of every refusal
  std::vector<std::string> other_errors;
  bool complete = false;
};

// Sends `targets.size()` messages on `c` all at once (message i to targets[i], client_msg_id
// `prefix` + i) and waits for every ack, behaving as a well-behaved client: once every
// request in flight is answered and the longest retry_after_ms has passed, it resends the
// refused messages, in their order. Bounded by `deadline`.
PipelineResult Pipeline(BlockingClient& c, const std::vector<Target>& targets,
                        const std::string& prefix, std::chrono::seconds deadline = 90s) {
  PipelineResult out;
  const size_t n = targets.size();
  out.seqs.assign(n, 0);
  out.convs.assign(n, 0);
  uint64_t next_id = 1;
  std::map<uint64_t, size_t> in_flight;  // request id -> message index
  auto send = [&](size_t i) {
    uint64_t id = next_id++;
    in_flight[id] = i;
    c.SendRaw(SendFrame(id, targets[i], prefix + std::to_string(i)));
  };
  for (size_t i = 0; i < n; ++i) send(i);
  std::vector<size_t> refused;
  auto resend_at = Clock::now();
  size_t acked = 0;
  const auto end = Clock::now() + deadline;
  while (acked < n && Clock::now() < end) {
    if (in_flight.empty() && !refused.empty()) {
      std::this_thread::sleep_until(std::min(resend_at, end));
      std::sort(refused.begin(), refused.end());
      for (size_t i : refused) send(i);
      refused.clear();
      ++out.rounds;
    }
    auto frame = c.NextRawFrame(200ms);
    if (!frame) continue;
    auto header = DecodeHeader(*frame);
    if (!header.ok() || header->is_push || !header->has_id) continue;
    auto it = in_flight.find(header->id);
    if (it == in_flight.end()) continue;
    size_t i = it->second;
    in_flight.erase(it);
    if (header->ok) {
      auto ack = DecodeSendAck(*frame);
      if (ack.ok()) {
        out.seqs[i] = ack->seq;
        out.convs[i] = ack->conv_id;
        ++acked;
      }
      continue;
    }
    int64_t retry = -1;
    Status st = DecodeError(*frame, &retry);
    if (st.code() == Code::kRateLimited) {
      ++out.refusals;
      out.retry_hints.push_back(retry);
      refused.push_back(i);
      resend_at = std::max(resend_at, Clock::now() + std::chrono::milliseconds(retry));
    } else {
      out.other_errors.push_back(st.ToString());
    }
  }
  out.complete = acked == n;
  return out;
}

// The first index whose seq is not above the previous one; -1 if in order.
long FirstOutOfOrder(const std::vector<Seq>& seqs) {
  for (size_t i = 1; i < seqs.size(); ++i) {
    if (seqs[i] <= seqs[i - 1]) return static_cast<long>(i);
  }
  return -1;
}

TEST_F(RateLimitTest, PipelinedSendsFarOverTheBurstAllCommitInOrderWithoutRefusals) {
  Start("");  // the default limits: 500/s with a burst of 1000 per connection
  Device("bob", "b0")->Close();
  auto alice = Device("alice", "a1");
  auto conv = alice->OpenDirect("bob");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  constexpr size_t kSends = 3000;
  PipelineResult r = Pipeline(*alice, std::vector<Target>(kSends, Target{conv->id, ""}), "p");
  ASSERT_TRUE(r.complete) << r.refusals << " refusals";
  EXPECT_TRUE(r.other_errors.empty()) << r.other_errors.front();
  EXPECT_EQ(r.refusals, 0);  // paced by backpressure, never refused
  EXPECT_EQ(FirstOutOfOrder(r.seqs), -1);
  EXPECT_EQ(r.seqs.back(), kSends);  // nothing else was committed in between
  EXPECT_TRUE(alice->Ping().ok());
}

TEST_F(RateLimitTest, SendsWithToAreNotOvertakenBySendsWithConv) {
  Start("");
  Device("bob", "b0")->Close();
  auto alice = Device("alice", "a1");
  auto conv = alice->OpenDirect("bob");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  // The same conversation both ways: `to` goes through a worker to open it, `conv` does not.
  std::vector<Target> targets;
  for (int i = 0; i < 400; ++i) targets.push_back(i % 2 ? Target{conv->id, ""} : Target{0, "bob"});
  PipelineResult r = Pipeline(*alice, targets, "t");
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.refusals, 0);
  for (ConvId c : r.convs) ASSERT_EQ(c, conv->id);
  EXPECT_EQ(FirstOutOfOrder(r.seqs), -1);
}

TEST_F(RateLimitTest, MembershipChangesAndSendsOfOneConnectionCommitInOrder) {
  // Pipelined "add u0, send, add u1, send, ...": each new member must get exactly the
  // messages sent after their add. conv.add commits on a worker; before, the sends behind
  // it overtook it.
  Start("");
  constexpr int kUsers = 5;
  for (int i = 0; i < kUsers; ++i) Device("user" + std::to_string(i), "d")->Close();
  Device("bob", "b0")->Close();
  auto owner = Device("owner", "o1");
  auto group = owner->CreateGroup("ordered", {"bob"});
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  for (int i = 0; i < kUsers; ++i) {
    JsonWriter add;
    add.BeginObject().Key("id").Uint(1000 + i).Key("op").String("conv.add");
    add.Key("conv").Uint(group->id).Key("users").BeginArray();
    add.String("user" + std::to_string(i)).EndArray().EndObject();
    owner->SendRaw(add.Take());
    owner->SendRaw(SendFrame(2000 + i, Target{group->id, ""}, "after-add-" + std::to_string(i)));
  }
  int answered = 0;
  for (auto end = Clock::now() + 30s; answered < 2 * kUsers && Clock::now() < end;) {
    auto frame = owner->NextRawFrame(200ms);
    if (!frame) continue;
    auto header = DecodeHeader(*frame);
    if (!header.ok() || header->is_push) continue;
    EXPECT_TRUE(header->ok) << *frame;
    ++answered;
  }
  ASSERT_EQ(answered, 2 * kUsers);
  for (int i = 0; i < kUsers; ++i) {
    auto member = Device("user" + std::to_string(i), "d");
    auto sync = member->Sync(0, 1000);
    ASSERT_TRUE(sync.ok()) << sync.status().ToString();
    int messages = 0;
    for (const SyncItem& item : sync->items) {
      if (item.event.type == EventType::kMessage && item.event.conv_id == group->id) ++messages;
    }
    EXPECT_EQ(messages, kUsers - i) << "user" << i;
  }
}

TEST_F(RateLimitTest, DevicesRetryingAsToldDoNotStorm) {
  // Three devices of one user against the user's shared bucket. Before, each got refusals
  // with retry_after_ms of a few ms and retrying as told made thousands of them.
  Start("[limits]\nsend_rate_per_user = 200\nsend_burst_per_user = 100\n");
  Device("bob", "b0")->Close();
  constexpr int kDevices = 3;
  constexpr size_t kSends = 300;
  std::vector<std::unique_ptr<BlockingClient>> devices;
  for (int d = 0; d < kDevices; ++d) devices.push_back(Device("alice", "a" + std::to_string(d)));
  auto conv = devices[0]->OpenDirect("bob");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  std::vector<PipelineResult> results(kDevices);
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      results[d] = Pipeline(*devices[d], std::vector<Target>(kSends, Target{conv->id, ""}),
                            "d" + std::to_string(d) + "-");
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int refusals = 0;
  for (int d = 0; d < kDevices; ++d) {
    ASSERT_TRUE(results[d].complete) << "device " << d;
    refusals += results[d].refusals;
    EXPECT_EQ(FirstOutOfOrder(results[d].seqs), -1) << "device " << d;
  }
  EXPECT_LE(refusals, 30);
  // The user's limit still holds: 900 sends at 200/s after a burst of 100 take 4 s.
  EXPECT_GE(seconds, 3.0);
}

TEST_F(RateLimitTest, DevicesFarOverTheUserLimitGetRealisticRetryAfter) {
  // 20/s per user and at most 200 ms of pacing: eight devices sending at once are far past
  // it, so some sends are refused — with the real wait, not 1000/20 = 50 ms or less.
  Start("[limits]\nsend_rate_per_user = 20\nsend_burst_per_user = 10\nsend_max_wait_ms = 200\n");
  Device("bob", "b0")->Close();
  constexpr int kDevices = 8;
  constexpr size_t kSends = 12;
  std::vector<std::unique_ptr<BlockingClient>> devices;
  for (int d = 0; d < kDevices; ++d) devices.push_back(Device("alice", "a" + std::to_string(d)));
  auto conv = devices[0]->OpenDirect("bob");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  std::vector<PipelineResult> results(kDevices);
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      results[d] = Pipeline(*devices[d], std::vector<Target>(kSends, Target{conv->id, ""}),
                            "d" + std::to_string(d) + "-");
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int refusals = 0;
  for (int d = 0; d < kDevices; ++d) {
    const PipelineResult& r = results[d];
    // No storm: a device is refused (its pipeline at once) at most once per 200 ms wait.
    EXPECT_LE(r.rounds, static_cast<int>(seconds / 0.2) + 2) << "device " << d;
    ASSERT_TRUE(r.complete) << "device " << d;
    refusals += r.refusals;
    // Every hint is at least the pacing bound, and not absurdly long.
    if (!r.retry_hints.empty()) {
      auto [low, high] = std::minmax_element(r.retry_hints.begin(), r.retry_hints.end());
      EXPECT_GE(*low, 200) << "device " << d;
      EXPECT_LE(*high, 5000) << "device " << d;
    }
    // The device resent its refused sends in order, after the wait: its order held.
    EXPECT_EQ(FirstOutOfOrder(r.seqs), -1) << "device " << d;
  }
  EXPECT_GE(refusals, 1);  // the scenario does go past the bound
}

TEST_F(RateLimitTest, GroupCreateAndAddFloodIsLimitedPerUserAcrossConnections) {
  // A group of 5 members costs 6; a burst of 30 allows five of them.
  Start("[limits]\nmembership_rate_per_user = 1\nmembership_burst_per_user = 30\n");
  std::vector<std::string> members;
  for (int i = 0; i < 5; ++i) {
    members.push_back("member" + std::to_string(i));
    Device(members.back(), "d")->Close();
  }
  auto a1 = Device("owner", "o1");
  auto a2 = Device("owner", "o2");
  auto create = [&](BlockingClient& c, int i, int64_t* retry) {
    return c.CallRaw(
        "conv.create",
        [&](JsonWriter& w) {
          w.Key("title").String("g" + std::to_string(i)).Key("members").BeginArray();
          for (const auto& m : members) w.String(m);
          w.EndArray();
        },
        retry);
  };
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20; ++i) {
    int64_t retry = -1;
    auto r = create(i % 2 ? *a2 : *a1, i, &retry);
    if (r.ok()) {
      ++accepted;
      continue;
    }
    ASSERT_EQ(r.status().code(), Code::kRateLimited) << r.status().ToString();
    ++refused;
    EXPECT_GE(retry, 100);  // the time until 6 tokens are back at 1/s: seconds
    EXPECT_LE(retry, 7000);
  }
  EXPECT_GE(accepted, 5);
  EXPECT_LE(accepted, 7);  // the burst, plus what refilled meanwhile on a slow machine
  EXPECT_EQ(accepted + refused, 20);
  // Nothing was stored for the refused ones.
  auto convs = a1->Convs();
  ASSERT_TRUE(convs.ok());
  EXPECT_EQ(static_cast<int>(convs->size()), accepted);
  // conv.add spends the same tokens, by the number of users added.
  int64_t retry = -1;
  auto add = a2->CallRaw(
      "conv.add",
      [&](JsonWriter& w) {
        w.Key("conv").Uint(convs->front().conv.id).Key("users").BeginArray();
        w.String("owner").String("member0").String("member1").EndArray();
      },
      &retry);
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.status().code(), Code::kRateLimited);
  EXPECT_GE(retry, 100);
  // Another user is not affected.
  auto other = Device("other", "x");
  EXPECT_TRUE(other->CreateGroup("mine", {"member0", "member1"}).ok());
}

TEST_F(RateLimitTest, TypingFloodFromSeveralConnectionsIsLimitedPerUser) {
  Start("");  // defaults: 5/s burst 10 per user, 1/s burst 3 per user and conversation
  Device("bob", "b0")->Close();
  constexpr int kConnections = 4;
  std::vector<std::unique_ptr<BlockingClient>> conns;
  for (int d = 0; d < kConnections; ++d) conns.push_back(Device("alice", "a" + std::to_string(d)));
  std::vector<ConvId> convs;
  for (int g = 0; g < 6; ++g) {
    auto c = conns[0]->CreateGroup("g" + std::to_string(g), {"bob"});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    convs.push_back(c->id);
  }
  auto typing = [&](BlockingClient& c, ConvId conv, int* accepted, int* refused) {
    int64_t retry = -1;
    auto r = c.CallRaw(
        "typing", [&](JsonWriter& w) { w.Key("conv").Uint(conv); }, &retry);
    if (r.ok()) {
      ++*accepted;
      return;
    }
    ASSERT_EQ(r.status().code(), Code::kRateLimited) << r.status().ToString();
    ++*refused;
    EXPECT_GT(retry, 0);
    EXPECT_LE(retry, 1000);
  };
  // One conversation from every connection: the per-conversation bucket holds.
  int accepted = 0, refused = 0;
  auto start = Clock::now();
  for (int round = 0; round < 5; ++round) {
    for (auto& c : conns) typing(*c, convs[0], &accepted, &refused);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LE(accepted, 3 + static_cast<int>(seconds * 1) + 1);
  EXPECT_EQ(accepted + refused, 20);
  // Many conversations from every connection: the per-user bucket holds (10, plus 5/s).
  accepted = refused = 0;
  start = Clock::now();
  for (size_t g = 1; g < convs.size(); ++g) {
    for (auto& c : conns) typing(*c, convs[g], &accepted, &refused);
  }
  seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LE(accepted, 10 + static_cast<int>(seconds * 5) + 1);
  EXPECT_GE(refused, 5);
}

}  // namespace
}  // namespace parley::testing
