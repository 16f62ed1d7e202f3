// Cluster mode without Redis: several real parleyd processes on one PostgreSQL (the shared
// test server of tests/support/pg_server.h, a schema per test). Users register and log in
// on any node, send concurrently through different nodes into the same conversations, and
// every node then tells the same story: conv_seq gapless, each acked message stored once,
// each user's user_seq 1..N exactly once. A retry through another node after a SIGKILL is
// deduplicated; a database outage answers `unavailable` and heals by itself. Every wait
// is bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "client/blocking_client.h"
#include "tests/support/full_reads.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/pg_server.h"
#include "tests/support/redis_server.h"
#include "tests/support/waiting.h"

namespace parley {
namespace {

using client::BlockingClient;
using client::UserArg;
using testing::ServerOptions;
using testing::ServerProcess;
using namespace std::chrono_literals;

std::string NodeConfig(const std::string& url, const std::string& schema, bool search,
                       int64_t token_cache_ms) {
  return std::string(testing::kFastHashes) + "token_cache_ms = " + std::to_string(token_cache_ms) +
         "\n" +
         "[limits]\nsend_rate_per_conn = 1e6\nsend_burst_per_conn = 1e6\n"
         "send_rate_per_user = 1e6\nsend_burst_per_user = 1e6\n"
         "[search]\nenabled = " +
         (search ? "true" : "false") +
         "\n"
         "[storage]\nengine = \"postgres\"\nurl = \"" +
         url + "\"\nschema = \"" + schema + "\"\nreaders = 4\n";
}

// The value of the unlabelled series `name` in the node's /metrics, -1 if absent.
double Metric(ServerProcess& node, const std::string& name) {
  auto body = node.HttpGet("/metrics");
  if (!body.ok()) return -1;
  const size_t at = body->find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body->substr(at + name.size() + 2));
}

class ClusterNodesTest : public ::testing::Test {
 public:
  std::unique_ptr<ServerProcess> StartNode(const std::string& url, bool search = false,
                                           const std::string& extra = "",
                                           int64_t token_cache_ms = 30000) {
    ServerOptions o;
    o.config_toml = NodeConfig(url, schema_, search, token_cache_ms) + extra;
    auto s = ServerProcess::Start(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static std::unique_ptr<BlockingClient> Connect(const ServerProcess& node) {
    client::ConnectOptions o;
    o.url = node.url();
    auto c = std::make_unique<BlockingClient>(o, 30s);
    Status st = c->Connect();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return c;
  }
  // Registers (on first use) and logs in `name` through `node`.
  static std::unique_ptr<BlockingClient> Device(const ServerProcess& node, const std::string& name,
                                                const std::string& device,
                                                LoginReply* login = nullptr) {
    auto c = Connect(node);
    auto reg = c->Register(name, name + "-password");
    EXPECT_TRUE(reg.ok() || reg.status().code() == Code::kAlreadyExists) << reg.status().ToString();
    auto l = c->Login(name, name + "-password", device);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (login != nullptr && l.ok()) *login = *l;
    return c;
  }
  std::string schema_ = "n" + std::to_string(::getpid()) + "_" +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name();
};

TEST_F(ClusterNodesTest, NodesShareOneOrderedTimeline) {
  const std::string url = test::PgServer::Shared().Url();
  auto n1 = StartNode(url, /*search=*/true);
  auto n2 = StartNode(url, /*search=*/true);
  ASSERT_TRUE(n1 && n2);
  LoginReply alice_login;
  auto alice = Device(*n1, "alice", "a1", &alice_login);
  auto bob = Device(*n2, "bob", "b1");
  auto carol = Device(*n2, "carol", "c1");
  // A token issued by n1 works on n2: sessions live in the database.
  auto alice2 = Connect(*n2);
  ASSERT_TRUE(alice2->Auth(alice_login.token, alice_login.device).ok());

  auto direct = alice->OpenDirect(UserArg{"bob"});
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  auto group = alice->CreateGroup("g", {UserArg{"bob"}, UserArg{"carol"}});
  ASSERT_TRUE(group.ok()) << group.status().ToString();

  // Three senders on two nodes at once, into the same two conversations.
  constexpr int kEach = 60;
  struct Sent {
    ConvId conv;
    Seq seq;
    std::string body;
  };
  std::mutex mu;
  std::vector<Sent> acked;
  auto run = [&](BlockingClient* c, const std::string& who) {
    for (int i = 0; i < kEach; ++i) {
      const ConvId conv = i % 2 == 0 ? direct->id : group->id;
      if (who == "carol" && conv == direct->id) continue;
      const std::string body = who + "-" + std::to_string(i);
      auto ack = c->Send(conv, body, body);
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
      std::lock_guard<std::mutex> lock(mu);
      acked.push_back({conv, ack->seq, body});
    }
  };
  std::thread t1(run, alice.get(), "alice");
  std::thread t2(run, bob.get(), "bob");
  std::thread t3(run, carol.get(), "carol");
  t1.join();
  t2.join();
  t3.join();

  // Every node serves the same gapless history, each acked message at its acked seq.
  for (BlockingClient* reader : {alice.get(), alice2.get()}) {
    for (ConvId conv : {direct->id, group->id}) {
      auto history = test::HistoryForward(*reader, conv);
      std::map<Seq, std::string> by_seq;
      for (size_t i = 0; i < history.size(); ++i) {
        EXPECT_EQ(history[i].seq, i + 1) << "conv_seq gap";
        by_seq[history[i].seq] = history[i].body;
      }
      size_t expected = 0;
      for (const auto& s : acked) {
        if (s.conv != conv) continue;
        ++expected;
        EXPECT_EQ(by_seq[s.seq], s.body);
      }
      EXPECT_EQ(history.size(), expected);
    }
  }
  // Each user's sync timeline is 1..N exactly once, the same from either node.
  auto bob_on_n1 = Connect(*n1);
  auto bob_login = bob_on_n1->Login("bob", "bob-password", "b2");
  ASSERT_TRUE(bob_login.ok());
  auto from_n1 = test::SyncAll(*bob_on_n1);
  auto from_n2 = test::SyncAll(*bob);
  ASSERT_EQ(from_n1.size(), from_n2.size());
  size_t bob_messages = 0;
  for (size_t i = 0; i < from_n1.size(); ++i) {
    EXPECT_EQ(from_n1[i].event.conv_id, from_n2[i].event.conv_id);
    EXPECT_EQ(from_n1[i].event.conv_seq, from_n2[i].event.conv_seq);
    if (from_n1[i].event.type == EventType::kMessage) ++bob_messages;
  }
  // Bob sees every message of both conversations (small groups fan out on write).
  EXPECT_EQ(bob_messages, acked.size());

  // Each batch that found the other node's commits forgot only what they touched: all of
  // its caches go only for a node's first batch (it knows no previous one of its own).
  for (ServerProcess* n : {n1.get(), n2.get()}) {
    const double foreign = Metric(*n, "parley_sequencer_foreign_batches_total");
    const double drops = Metric(*n, "parley_sequencer_cache_drops_total");
    EXPECT_GT(foreign, 10) << "the nodes' batches did not interleave";
    EXPECT_LE(drops, 1) << "caches dropped wholesale " << drops << " times of " << foreign;
  }

  // Each node indexes the shared change feed: a message sent through n1 is found on n2, in
  // Chinese inside a sentence too.
  auto cjk = alice->Send(group->id, "我们明天在会议室讨论数据库迁移", "cjk-1");
  ASSERT_TRUE(cjk.ok()) << cjk.status().ToString();
  client::SearchArgs args;
  args.q = "数据库";
  bool found = false;
  for (auto end = std::chrono::steady_clock::now() + 20s;
       !found && std::chrono::steady_clock::now() < end;) {
    auto r = carol->Search(args);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& hit : r->hits) found |= hit.conv == group->id && hit.seq == cjk->seq;
    if (!found) std::this_thread::sleep_for(50ms);  // poll interval while n2 indexes
  }
  EXPECT_TRUE(found) << "n2 never indexed the message committed by n1";
}

TEST_F(ClusterNodesTest, RetryThroughAnotherNodeAfterAKillIsDeduplicated) {
  const std::string url = test::PgServer::Shared().Url();
  auto n1 = StartNode(url);
  auto n2 = StartNode(url);
  ASSERT_TRUE(n1 && n2);
  LoginReply login;
  auto alice = Device(*n1, "alice", "a1", &login);
  Device(*n2, "bob", "b1");
  auto first = alice->SendTo(UserArg{"bob"}, "hello", "retry-1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  n1->Kill();
  // The device reconnects through the other node with its token and resends.
  auto again = Connect(*n2);
  ASSERT_TRUE(again->Auth(login.token, login.device).ok());
  auto second = again->SendTo(UserArg{"bob"}, "hello", "retry-1");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->seq, first->seq);
  EXPECT_EQ(second->msg_id, first->msg_id);
  EXPECT_EQ(test::HistoryForward(*again, first->conv_id).size(), 1u);
}

// Each node caches token checks. A logout on n1 must end the token on n2 too: through the
// revocation hint with Redis (the cache's lifetime is set far beyond the deadline, so only
// the hint can do it), and through the cache's lifetime without Redis.
void ExpectLogoutEndsTokenOnOtherNode(ClusterNodesTest* t, ServerProcess& n1, ServerProcess& n2,
                                      std::chrono::milliseconds deadline) {
  LoginReply login;
  auto alice = t->Device(n1, "alice", "a1", &login);
  // Resumed on n2 twice: the second check is answered from n2's cache.
  for (int i = 0; i < 2; ++i) {
    auto on_n2 = t->Connect(n2);
    ASSERT_TRUE(on_n2->Auth(login.token, "a1").ok());
  }
  ASSERT_TRUE(alice->Logout().ok());
  EXPECT_FALSE(t->Connect(n1)->Auth(login.token, "a1").ok()) << "n1 still accepts the token";
  const auto start = std::chrono::steady_clock::now();
  bool refused = test::WaitUntil(
      [&] {
        auto c = t->Connect(n2);
        auto r = c->Auth(login.token, "a1");
        return !r.ok() && r.status().code() == Code::kUnauthenticated;
      },
      deadline, 50ms);
  EXPECT_TRUE(refused) << "n2 still accepts a token logged out on n1";
  std::printf("token refused on the other node after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - start)
                                         .count()));
}

TEST_F(ClusterNodesTest, LogoutReachesOtherNodesCachesThroughRedis) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  const std::string url = test::PgServer::Shared().Url();
  auto node_config = [&](const char* node) {
    return std::string("[cluster]\nnode = \"") + node + "\"\nredis = \"" + (*redis)->address() +
           "\"\n";
  };
  auto n1 = StartNode(url, false, node_config("n1"), 600000);
  auto n2 = StartNode(url, false, node_config("n2"), 600000);
  ASSERT_TRUE(n1 && n2);
  // Both nodes subscribed before the logout: a hint published earlier would be lost.
  for (auto* n : {n1.get(), n2.get()}) {
    ASSERT_TRUE(test::WaitUntil([&] { return Metric(*n, "parley_redis_up") == 1; }, 15s, 20ms));
  }
  ExpectLogoutEndsTokenOnOtherNode(this, *n1, *n2, 5s);
}

TEST_F(ClusterNodesTest, WithoutRedisACachedTokenLivesAtMostTheCacheLifetime) {
  const std::string url = test::PgServer::Shared().Url();
  auto n1 = StartNode(url, false, "", 500);
  auto n2 = StartNode(url, false, "", 500);
  ASSERT_TRUE(n1 && n2);
  ExpectLogoutEndsTokenOnOtherNode(this, *n1, *n2, 3s);
}

TEST_F(ClusterNodesTest, DatabaseOutageAnswersUnavailableAndHeals) {
  auto pg = test::PgServer::Start({.durable = true});
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  auto node = StartNode((*pg)->Url());
  ASSERT_TRUE(node);
  auto alice = Device(*node, "alice", "a1");
  Device(*node, "bob", "b1");
  auto before = alice->SendTo(UserArg{"bob"}, "before", "outage-0");
  ASSERT_TRUE(before.ok()) << before.status().ToString();

  int code = 0;
  ASSERT_TRUE(node->HttpGet("/readyz", &code).ok());
  EXPECT_EQ(code, 200);

  (*pg)->Kill();
  client::OutgoingMessage during_msg;
  during_msg.to = UserArg{"bob"};
  during_msg.body = "during";
  during_msg.client_msg_id = "outage-1";
  int64_t retry_after_ms = -1;
  auto during = alice->SendMessage(during_msg, &retry_after_ms);
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.status().code(), Code::kUnavailable) << during.status().ToString();
  EXPECT_GT(retry_after_ms, 0) << "unavailable always says when to retry";
  EXPECT_TRUE(alice->Ping().ok()) << "the connection survives the outage";
  // The node tells the load balancer it cannot write, and shows its breaker open.
  bool unready = false;
  for (auto end = std::chrono::steady_clock::now() + 15s;
       !unready && std::chrono::steady_clock::now() < end;) {
    unready = node->HttpGet("/readyz", &code).ok() && code == 503;
    if (!unready) std::this_thread::sleep_for(50ms);  // poll interval
  }
  EXPECT_TRUE(unready) << "/readyz still 200 with the database down";
  auto metrics = node->HttpGet("/metrics");
  ASSERT_TRUE(metrics.ok());
  // Open (1), or half-open (2) for the instant a probe runs.
  EXPECT_NE(metrics->find("parley_breaker_state{dep=\"postgres\"} "), std::string::npos);
  EXPECT_EQ(metrics->find("parley_breaker_state{dep=\"postgres\"} 0"), std::string::npos)
      << "breaker still closed";
  // Failing fast while the breaker is open: no wait for a connect timeout.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(alice->SendTo(UserArg{"bob"}, "during", "outage-1").status().code(),
            Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);

  ASSERT_TRUE((*pg)->Restart().ok());
  // The node reconnects by itself: the same send (same client_msg_id) goes through.
  Result<SendAck> after = Status(Code::kUnavailable, "not tried");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    after = alice->SendTo(UserArg{"bob"}, "during", "outage-1");
    if (after.ok() || after.status().code() != Code::kUnavailable) break;
    std::this_thread::sleep_for(100ms);  // a retry interval, as a client's backoff
  }
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->seq, before->seq + 1);
  bool ready = false;
  for (auto end = std::chrono::steady_clock::now() + 15s;
       !ready && std::chrono::steady_clock::now() < end;) {
    ready = node->HttpGet("/readyz", &code).ok() && code == 200;
    if (!ready) std::this_thread::sleep_for(50ms);  // poll interval
  }
  EXPECT_TRUE(ready) << "/readyz did not recover";
  auto history = test::HistoryForward(*alice, before->conv_id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].body, "during");
}

}  // namespace
}  // namespace parley
