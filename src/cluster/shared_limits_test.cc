#include "cluster/shared_limits.h"

#include <gtest/gtest.h>

#include <future>

#include "cluster/cluster_test_util.h"

namespace parley::cluster {
namespace {

LimitVerdict AcquireNow(Cluster& c, SharedLimit limit, const std::string& subject) {
  auto promise = std::make_shared<std::promise<LimitVerdict>>();
  auto future = promise->get_future();
  c.limits().Acquire(limit, subject, [promise](LimitVerdict v) { promise->set_value(v); });
  EXPECT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  return future.get();
}

ClusterOptions ThreeAnHour(const std::string& node, uint16_t port) {
  ClusterOptions o = TestOptions(node, port);
  o.limits.rules[static_cast<size_t>(SharedLimit::kLogin)] = LimitRule{1.0 / 3600, 3};
  return o;
}

TEST(SharedLimits, OneBudgetAcrossNodes) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  metrics::Registry ra, rb;
  Received ga, gb;
  Cluster a(ThreeAnHour("a", (*redis)->port()), ga.Handlers(), ra);
  Cluster b(ThreeAnHour("b", (*redis)->port()), gb.Handlers(), rb);
  a.Start();
  b.Start();
  ASSERT_TRUE(WaitUp(a) && WaitUp(b));
  EXPECT_TRUE(AcquireNow(a, SharedLimit::kLogin, "alice").allowed);
  EXPECT_TRUE(AcquireNow(b, SharedLimit::kLogin, "alice").allowed);
  EXPECT_TRUE(AcquireNow(a, SharedLimit::kLogin, "alice").allowed);
  LimitVerdict fourth = AcquireNow(b, SharedLimit::kLogin, "alice");
  EXPECT_FALSE(fourth.allowed);
  EXPECT_TRUE(fourth.shared);
  // One attempt per hour: the next is about an hour away.
  EXPECT_GT(fourth.retry_after_ms, 3500 * 1000);
  EXPECT_LE(fourth.retry_after_ms, 3600 * 1000);
  // Another subject has its own budget.
  EXPECT_TRUE(AcquireNow(b, SharedLimit::kLogin, "bob").allowed);

  // Admit: the first refusal comes from Redis, later ones from memory without a round trip.
  EXPECT_TRUE(a.limits().Admit(SharedLimit::kLogin, "alice").allowed);  // not known yet
  ASSERT_TRUE(test::WaitUntil(
      [&] { return !a.limits().Admit(SharedLimit::kLogin, "alice").allowed; }, kWait));

  // A flushed script cache: EVALSHA fails with NOSCRIPT and the script is sent again.
  ASSERT_TRUE((*redis)->Command({"SCRIPT", "FLUSH"}).ok());
  EXPECT_FALSE(AcquireNow(b, SharedLimit::kLogin, "alice").allowed);
  EXPECT_TRUE(AcquireNow(b, SharedLimit::kLogin, "carol").allowed);
  EXPECT_EQ(b.limits().fail_open(), 0u);
}

// A rate of 0 is "no limit" (the kit writes 0 for the per-address limits behind HAProxy),
// not a budget of `burst` that never refills: a regression that locked a whole cluster out
// once HAProxy's health checks had used up the burst.
TEST(SharedLimits, RateZeroTurnsTheLimitOff) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  metrics::Registry r;
  Received g;
  ClusterOptions o = TestOptions("a", (*redis)->port());
  o.limits.rules[static_cast<size_t>(SharedLimit::kConnect)] = LimitRule{0, 2};
  Cluster a(o, g.Handlers(), r);
  a.Start();
  ASSERT_TRUE(WaitUp(a));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(AcquireNow(a, SharedLimit::kConnect, "127.0.0.1").allowed) << i;
    ASSERT_TRUE(a.limits().Admit(SharedLimit::kConnect, "127.0.0.1").allowed) << i;
  }
  // Nothing was even counted in Redis.
  auto keys = (*redis)->Command({"KEYS", "parley:limit:*"});
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, "");
}

TEST(SharedLimits, FailsOpenWhenRedisIsDown) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  metrics::Registry ra;
  Received ga;
  Cluster a(ThreeAnHour("a", (*redis)->port()), ga.Handlers(), ra);
  a.Start();
  ASSERT_TRUE(WaitUp(a));
  (*redis)->Stop();
  ASSERT_TRUE(test::WaitUntil([&] { return !a.redis_up(); }, kWait));
  for (int i = 0; i < 5; ++i) {
    LimitVerdict v = AcquireNow(a, SharedLimit::kLogin, "alice");
    EXPECT_TRUE(v.allowed);
    EXPECT_FALSE(v.shared);
  }
  EXPECT_EQ(a.limits().fail_open(), 5u);
  EXPECT_NE(ra.RenderPrometheus().find("parley_redis_limit_fail_open_total 5"), std::string::npos);
}

}  // namespace
}  // namespace parley::cluster
