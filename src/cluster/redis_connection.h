// RedisConnection: one hiredis async connection that keeps itself connected. It connects
// in the background, probes the server with PING (the connection is "up" once PONG
// returns), and after any loss — refused connect, a connect or command timeout, the server
// closing — reconnects with capped exponential backoff and jitter, telling its owner each
// up/down change.
//
// Nothing here blocks a caller: Command only queues, and its callback runs later on the
// io thread — with the reply, or with null when the connection is down, drops, or a
// command waits longer than command_timeout (the whole connection is then dropped and
// rebuilt: replies come in order, so one stuck reply holds up all behind it).
//
// Subscriptions: SUBSCRIBE goes through Subscribe, whose handler receives every pushed
// message until the connection drops; on a subscribed connection only (UN)SUBSCRIBE may
// be sent, so a node uses a second connection for publishing and commands.
//
// Thread-safety: Command, Subscribe, up() and Stop from any thread; everything else and
// every callback runs on the io_context's thread, which the owner runs (one thread).
// Stop before the io_context stops running; the owner keeps the object alive until then.
#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

struct redisAsyncContext;

namespace parley::cluster {

struct RedisConnectionOptions {
  // Default: 127.0.0.1:6379.
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  // For logs ("hints-sub"). Default: "redis".
  std::string name = "redis";
  // TCP connect plus the first PING. Default: 1 s.
  std::chrono::milliseconds connect_timeout{1000};
  // The longest a command may wait for its reply before the connection is dropped.
  // Default: 2 s.
  std::chrono::milliseconds command_timeout{2000};
  // Reconnect delays: the first, doubling per failure up to the cap, each scaled by a
  // random factor in [0.5, 1]. Default: 50 ms .. 2 s.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2000};
};

class RedisConnection {
 public:
  // The reply, valid only during the call; null when the command failed (down, dropped,
  // timed out). An error reply (type REDIS_REPLY_ERROR) is a reply.
  using OnReply = std::function<void(const redisReply* reply)>;
  // up: connected (after PONG); false: lost (after having been up, or a failed attempt).
  using OnState = std::function<void(bool up)>;

  RedisConnection(boost::asio::io_context& io, RedisConnectionOptions options, OnState on_state);
  ~RedisConnection();  // must have been stopped (or never started)
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Starts connecting (in the background). Any thread.
  void Start();
  // Drops the connection (pending callbacks get null) and stops reconnecting; returns at
  // once, the work is posted. Any thread; idempotent.
  void Stop();

  bool up() const { return up_.load(std::memory_order_acquire); }
  const RedisConnectionOptions& options() const { return options_; }

  // Sends `args` (binary-safe); `on_reply` (may be empty) runs on the io thread. When the
  // connection is down it runs with null at once (still on the io thread).
  void Command(std::vector<std::string> args, OnReply on_reply = {});
  // SUBSCRIBE `channels`: `on_push` gets the confirmations and every message
  // (["message", channel, payload]) until the connection drops; subscribe again after
  // the next up (OnState). Io thread only (call it from OnState or a callback).
  void SubscribeOnIo(const std::vector<std::string>& channels, OnReply on_push);

  // Times the connection went up (first connect included).
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }

 private:
  struct Pending;
  void Connect();
  void ScheduleReconnect();
  void Drop(const char* why);  // frees the context we hold (not from a hiredis callback)
  void Lost(const char* why);  // the context is gone or going: no more use of it
  void SetUp(bool up);
  void Watchdog();
  void Send(std::vector<std::string> args, OnReply on_reply);
  static void OnConnectCb(const redisAsyncContext* ac, int status);
  static void OnDisconnectCb(const redisAsyncContext* ac, int status);
  static void OnReplyCb(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnPushCb(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::io_context& io_;
  const RedisConnectionOptions options_;
  const OnState on_state_;
  // Io thread only, below.
  redisAsyncContext* ac_ = nullptr;
  bool stopped_ = false;
  bool connected_ = false;  // PONG seen on ac_
  int failures_ = 0;        // since the last up: the backoff exponent
  std::chrono::steady_clock::time_point connect_deadline_{};
  // Deadlines of the commands in flight, oldest first (replies come in order).
  std::deque<std::chrono::steady_clock::time_point> deadlines_;
  OnReply on_push_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer watchdog_;
  std::minstd_rand jitter_;
  std::atomic<bool> up_{false};
  std::atomic<uint64_t> connects_{0};
};

// Reply helpers (null-safe).
inline bool IsError(const redisReply* r) { return r == nullptr || r->type == REDIS_REPLY_ERROR; }
inline std::string_view ReplyString(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
                       r->type != REDIS_REPLY_ERROR)) {
    return {};
  }
  return std::string_view(r->str, r->len);
}

}  // namespace parley::cluster
