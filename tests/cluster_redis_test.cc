// parleyd with [cluster] redis set, against a real redis-server and a stand-in "other
// node" (a cluster::Cluster in this process): it reports parley_redis_up, publishes its
// commits, pushes what the other node publishes to its sessions, closes sessions revoked
// elsewhere, sends `resync` after Redis comes back, and keeps serving sends while Redis is
// down. (Two parleyd on one RocksDB each is no cluster: the full two-node test comes with
// PgStore.)
#include <gtest/gtest.h>

#include <mutex>

#include "cluster/cluster.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/redis_server.h"
#include "tests/support/waiting.h"

namespace parley::testing {
namespace {

// The value of the unlabelled series `name` in /metrics, -1 if absent.
double Metric(ServerProcess& server, const std::string& name) {
  auto body = server.HttpGet("/metrics");
  if (!body.ok()) return -1;
  const std::string needle = "\n" + name + " ";
  const size_t at = body->find(needle);
  if (at == std::string::npos) return -1;
  return std::stod(body->substr(at + needle.size()));
}

class ClusterRedisTest : public GatewayFixture {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Launch();
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    redis_ = std::move(*redis);
    StartServer("[cluster]\nnode = \"n1\"\nredis = \"" + redis_->address() + "\"\n");
    cluster::ClusterOptions o;
    o.node = "other";
    o.redis_host = "127.0.0.1";
    o.redis_port = redis_->port();
    o.connection.backoff_max = std::chrono::milliseconds(100);
    cluster::HintHandlers h;
    h.on_notice = [this](const CommitNotice& n) {
      std::lock_guard<std::mutex> lock(mu_);
      heard_.push_back(n);
    };
    other_ = std::make_unique<cluster::Cluster>(o, h, registry_);
    other_->Start();
    ASSERT_TRUE(test::WaitUntil([&] { return other_->redis_up(); }, 10s));
  }
  void TearDown() override { other_.reset(); }

  bool WaitMetric(const std::string& name, double value) {
    return test::WaitUntil([&] { return Metric(*server_, name) == value; }, 15s,
                           std::chrono::milliseconds(20));
  }

  std::unique_ptr<RedisServer> redis_;
  metrics::Registry registry_;
  std::unique_ptr<cluster::Cluster> other_;
  std::mutex mu_;
  std::vector<CommitNotice> heard_;
};

TEST_F(ClusterRedisTest, HintsFlowBothWaysAndSendsSurviveRedisLoss) {
  ASSERT_TRUE(WaitMetric("parley_redis_up", 1));
  LoginReply bob_login;
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1", &bob_login);
  // The other node hears this node's commits.
  auto ack = alice->SendTo("bob", "hello");
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  ASSERT_EQ(MessagePushes(*bob, 1).size(), 1u);
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& n : heard_) {
          for (const auto& e : n.events) {
            if (e.user_id == bob_login.user && e.conv_seq == ack->seq) return true;
          }
        }
        return false;
      },
      10s));

  // A commit of the other node for bob reaches bob's session here.
  CommitNotice remote;
  remote.events.push_back(InboxEvent{bob_login.user, 1000, EventType::kMessage, ack->conv_id,
                                     ack->seq + 1, 999, 0, 0, 0});
  other_->bus().PublishNotice(remote);
  auto pushed = MessagePushes(*bob, 1);
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].event.user_seq, 1000u);

  // Redis goes away: the metric says so, sends go on.
  redis_->Stop();
  ASSERT_TRUE(WaitMetric("parley_redis_up", 0));
  auto during = alice->SendTo("bob", "while redis is down");
  ASSERT_TRUE(during.ok()) << during.status().ToString();
  ASSERT_EQ(MessagePushes(*bob, 1).size(), 1u);  // local pushes need no Redis

  // Back: resubscribed, every session is told to resync (hints may have been lost).
  ASSERT_TRUE(redis_->Start().ok());
  ASSERT_TRUE(WaitMetric("parley_redis_up", 1));
  bool resync = false;
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!resync && std::chrono::steady_clock::now() < end) {
    auto p = bob->NextPush(100ms);
    resync = p && p->kind == Push::Kind::kResync;
  }
  EXPECT_TRUE(resync);

  // A revocation on the other node closes bob's session here.
  ASSERT_TRUE(test::WaitUntil([&] { return other_->redis_up(); }, 10s));
  other_->bus().PublishRevoke(bob_login.user, cluster::RevokeScope::kAllDevices, "");
  ASSERT_TRUE(bob->WaitClosed(10s));
  EXPECT_EQ(bob->close_code(), 4001);
}

}  // namespace
}  // namespace parley::testing
