#include "cluster/presence.h"

#include <gtest/gtest.h>

#include <future>

#include "cluster/cluster_test_util.h"

namespace parley::cluster {
namespace {

template <typename T>
Result<T> Await(std::function<void(std::function<void(Result<T>)>)> ask) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  ask([promise](Result<T> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return Status(Code::kInternal, "no answer");
  }
  return future.get();
}

Result<std::vector<DevicePresence>> Where(Cluster& c, UserId user) {
  return Await<std::vector<DevicePresence>>(
      [&](auto done) { c.presence().WhereIs(user, std::move(done)); });
}

Result<std::vector<std::string>> Nodes(Cluster& c) {
  return Await<std::vector<std::string>>([&](auto done) { c.presence().AliveNodes(done); });
}

TEST(Presence, NodesAndDevicesAreVisibleToOtherNodes) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  metrics::Registry ra, rb;
  Received ga, gb;
  Cluster a(TestOptions("a", (*redis)->port()), ga.Handlers(), ra);
  Cluster b(TestOptions("b", (*redis)->port()), gb.Handlers(), rb);
  a.Start();
  b.Start();
  ASSERT_TRUE(WaitUp(a) && WaitUp(b));
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        auto nodes = Nodes(b);
        return nodes.ok() && *nodes == std::vector<std::string>{"a", "b"};
      },
      kWait));

  a.presence().DeviceOnline(7, "phone");
  a.presence().DeviceOnline(7, "phone");  // a second session of the same device
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        auto where = Where(b, 7);
        return where.ok() && where->size() == 1 && (*where)[0].node == "a" &&
               (*where)[0].device == "phone";
      },
      kWait));
  EXPECT_EQ(a.presence().local_devices(), 1u);
  a.presence().DeviceOffline(7, "phone");  // one session left: still online
  a.presence().DeviceOffline(7, "phone");
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        auto where = Where(b, 7);
        return where.ok() && where->empty();
      },
      kWait));

  // A node that stops leaves the registry.
  a.Stop();
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        auto nodes = Nodes(b);
        return nodes.ok() && *nodes == std::vector<std::string>{"b"};
      },
      kWait));
  (*redis)->Stop();
  ASSERT_TRUE(test::WaitUntil([&] { return !b.redis_up(); }, kWait));
  EXPECT_EQ(Where(b, 7).status().code(), Code::kUnavailable);
}

TEST(Presence, EntriesOfANodeThatStopsRefreshingExpire) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  metrics::Registry ra, rb;
  Received ga, gb;
  ClusterOptions short_ttl = TestOptions("a", (*redis)->port());
  short_ttl.presence.device_ttl = std::chrono::seconds(1);
  short_ttl.presence.device_refresh = std::chrono::hours(1);  // never, in this test
  short_ttl.presence.node_interval = std::chrono::milliseconds(200);
  Cluster a(short_ttl, ga.Handlers(), ra);
  Cluster b(TestOptions("b", (*redis)->port()), gb.Handlers(), rb);
  a.Start();
  b.Start();
  ASSERT_TRUE(WaitUp(a) && WaitUp(b));
  a.presence().DeviceOnline(8, "tab");
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        auto where = Where(b, 8);
        return where.ok() && where->size() == 1;
      },
      kWait));
  EXPECT_EQ(*(*redis)->Command({"TTL", Presence::PresenceKey(8)}), "1");
  // No refresh: the field's expiry passes and then the key's TTL removes it.
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        auto where = Where(b, 8);
        return where.ok() && where->empty();
      },
      kWait, std::chrono::milliseconds(50)));
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        return *(*redis)->Command({"EXISTS", Presence::PresenceKey(8)}) == "0";
      },
      kWait, std::chrono::milliseconds(50)));
  // RefreshNow writes it again (what the 30 s timer does).
  a.presence().RefreshNow();
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        auto where = Where(b, 8);
        return where.ok() && where->size() == 1;
      },
      kWait));
}

}  // namespace
}  // namespace parley::cluster
