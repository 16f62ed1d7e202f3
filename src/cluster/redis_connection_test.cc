#include "cluster/redis_connection.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <future>
#include <thread>

#include "cluster/cluster_test_util.h"

namespace parley::cluster {
namespace {

namespace asio = boost::asio;

// One connection on its own io thread.
class Loop {
 public:
  explicit Loop(uint16_t port, RedisConnection::OnState on_state = {}) {
    RedisConnectionOptions o = TestOptions("t", port).connection;
    o.host = "127.0.0.1";
    o.port = port;
    conn_ = std::make_unique<RedisConnection>(io_, o, [this, on_state](bool up) {
      if (up) ups_.fetch_add(1);
      if (on_state) on_state(up);
    });
    conn_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Loop() {
    conn_->Stop();
    work_.reset();
    thread_.join();
  }
  RedisConnection& conn() { return *conn_; }
  int ups() const { return ups_.load(); }

  // The reply as text, "<null>" when the command failed; waits at most 5 s.
  std::string Call(std::vector<std::string> args) {
    auto promise = std::make_shared<std::promise<std::string>>();
    auto future = promise->get_future();
    conn_->Command(std::move(args), [promise](const redisReply* r) {
      promise->set_value(r == nullptr ? "<null>" : std::string(ReplyString(r)));
    });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return "<hang>";
    return future.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<RedisConnection> conn_;
  std::atomic<int> ups_{0};
  std::thread thread_;
};

TEST(RedisConnection, CommandsRoundTrip) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  Loop loop((*redis)->port());
  ASSERT_TRUE(test::WaitUntil([&] { return loop.conn().up(); }, kWait));
  EXPECT_EQ(loop.Call({"SET", "k", std::string("a\0b", 3)}), "OK");
  EXPECT_EQ(loop.Call({"GET", "k"}), std::string("a\0b", 3));  // binary-safe
  EXPECT_EQ(loop.Call({"NOSUCHCOMMAND"}).substr(0, 3), "ERR");
}

TEST(RedisConnection, ReconnectsAfterRedisRestarts) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  std::atomic<int> downs{0};
  Loop loop((*redis)->port(), [&](bool up) {
    if (!up) downs.fetch_add(1);
  });
  ASSERT_TRUE(test::WaitUntil([&] { return loop.conn().up(); }, kWait));
  (*redis)->Stop();
  ASSERT_TRUE(test::WaitUntil([&] { return !loop.conn().up(); }, kWait));
  EXPECT_EQ(downs.load(), 1);
  // Down: a command fails at once, it does not wait for Redis.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(loop.Call({"PING"}), "<null>");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_TRUE((*redis)->Start().ok());
  ASSERT_TRUE(test::WaitUntil([&] { return loop.conn().up(); }, kWait));
  EXPECT_EQ(loop.ups(), 2);
  EXPECT_EQ(loop.Call({"PING"}), "PONG");
}

TEST(RedisConnection, NoServerMeansDownAndFastFailures) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  const uint16_t port = (*redis)->port();
  (*redis)->Stop();  // the port is now closed
  Loop loop(port);
  EXPECT_EQ(loop.Call({"PING"}), "<null>");
  EXPECT_FALSE(loop.conn().up());
  // It keeps trying: once a server is there it connects without being told.
  ASSERT_TRUE((*redis)->Start().ok());
  ASSERT_TRUE(test::WaitUntil([&] { return loop.conn().up(); }, kWait));
}

TEST(RedisConnection, AStuckServerIsDroppedAfterTheCommandTimeout) {
  auto redis = testing::RedisServer::Launch();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  std::atomic<int> downs{0};
  Loop loop((*redis)->port(), [&](bool up) {
    if (!up) downs.fetch_add(1);
  });
  ASSERT_TRUE(test::WaitUntil([&] { return loop.conn().up(); }, kWait));
  // DEBUG SLEEP holds the server for 3 s, beyond the 1 s command timeout.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(loop.Call({"DEBUG", "SLEEP", "3"}), "<null>");
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, std::chrono::milliseconds(2500));
  EXPECT_GE(downs.load(), 1);
  ASSERT_TRUE(test::WaitUntil([&] { return loop.conn().up(); }, kWait));
}

}  // namespace
}  // namespace parley::cluster
