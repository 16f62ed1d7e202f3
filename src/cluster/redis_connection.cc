#include "cluster/redis_connection.h"

#include <hiredis/async.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "cluster/hiredis_asio.h"

namespace parley::cluster {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// How often the watchdog looks at the connect and command deadlines.
constexpr std::chrono::milliseconds kWatchdogTick{50};

// One command's callback, owned by hiredis's callback list until it runs (exactly once:
// with the reply, or with null when the context is freed).
struct RedisConnection::Pending {
  RedisConnection* conn;
  OnReply on_reply;
  bool timed;  // has an entry in deadlines_
};

RedisConnection::RedisConnection(asio::io_context& io, RedisConnectionOptions options,
                                 OnState on_state)
    : io_(io),
      options_(std::move(options)),
      on_state_(std::move(on_state)),
      reconnect_timer_(io),
      watchdog_(io),
      jitter_(std::random_device{}()) {}

RedisConnection::~RedisConnection() = default;

void RedisConnection::Start() {
  asio::post(io_, [this] {
    if (stopped_ || ac_ != nullptr) return;
    Connect();
    Watchdog();
  });
}

void RedisConnection::Stop() {
  asio::post(io_, [this] {
    if (stopped_) return;
    stopped_ = true;
    reconnect_timer_.cancel();
    if (ac_ == nullptr) {
      watchdog_.cancel();
      return;
    }
    // Connected: what is queued (a last ZREM, a PUBLISH) still goes out; hiredis frees
    // the context when every reply is in, and the watchdog bounds that by
    // command_timeout.
    if (connected_) return redisAsyncDisconnect(ac_);
    Drop("stopped");
  });
}

void RedisConnection::Connect() {
  redisAsyncContext* ac = redisAsyncConnect(options_.host.c_str(), options_.port);
  if (ac == nullptr) {
    ScheduleReconnect();
    return;
  }
  if (ac->err != 0) {
    if (failures_ == 0) spdlog::warn("redis {}: connect: {}", options_.name, ac->errstr);
    redisAsyncFree(ac);
    ScheduleReconnect();
    return;
  }
  ac->data = this;
  ac_ = ac;
  connected_ = false;
  connect_deadline_ = Clock::now() + options_.connect_timeout;
  AttachToAsio(ac, io_);
  redisAsyncSetConnectCallback(ac, &RedisConnection::OnConnectCb);
  redisAsyncSetDisconnectCallback(ac, &RedisConnection::OnDisconnectCb);
  // The probe: up once PONG is back (a server still loading answers an error instead).
  auto* probe = new Pending{this, {}, false};
  probe->on_reply = [this, ac](const redisReply* reply) {
    if (ac_ != ac) return;
    if (ReplyString(reply) == "PONG") {
      connected_ = true;
      failures_ = 0;
      connects_.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("redis {}: connected to {}:{}", options_.name, options_.host, options_.port);
      SetUp(true);
      return;
    }
    // Not from inside hiredis's callback: freeing the context there is unsafe.
    asio::post(io_, [this, ac] {
      if (ac_ == ac) Drop("PING failed");
    });
  };
  const char* ping = "PING";
  const size_t len = 4;
  if (redisAsyncCommandArgv(ac, &RedisConnection::OnReplyCb, probe, 1, &ping, &len) != REDIS_OK) {
    delete probe;
    Drop("PING not sent");
  }
}

void RedisConnection::ScheduleReconnect() {
  if (stopped_) return;
  const int exponent = std::min(failures_, 16);
  ++failures_;
  auto delay = std::min(options_.backoff_max, options_.backoff_min * (int64_t{1} << exponent));
  std::uniform_real_distribution<double> factor(0.5, 1.0);
  delay = std::chrono::milliseconds(
      std::max<int64_t>(1, static_cast<int64_t>(delay.count() * factor(jitter_))));
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_ || ac_ != nullptr) return;
    Connect();
  });
}

void RedisConnection::Lost(const char* why) {
  const bool was_up = connected_;
  ac_ = nullptr;
  connected_ = false;
  deadlines_.clear();
  on_push_ = nullptr;
  if (was_up && !stopped_) spdlog::warn("redis {}: connection lost ({})", options_.name, why);
  SetUp(false);
  ScheduleReconnect();
}

void RedisConnection::Drop(const char* why) {
  redisAsyncContext* ac = ac_;
  Lost(why);
  // Runs every pending callback with null; its disconnect callback sees ac_ != ac.
  redisAsyncFree(ac);
}

void RedisConnection::SetUp(bool up) {
  if (up_.exchange(up, std::memory_order_acq_rel) == up) return;
  if (on_state_) on_state_(up);
}

void RedisConnection::Watchdog() {
  if (stopped_ && ac_ == nullptr) return;
  const auto now = Clock::now();
  if (ac_ != nullptr && !connected_ && now > connect_deadline_) {
    Drop("connect timeout");
  } else if (ac_ != nullptr && !deadlines_.empty() && now > deadlines_.front()) {
    Drop("command timeout");
  }
  watchdog_.expires_after(kWatchdogTick);
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Watchdog();
  });
}

void RedisConnection::Command(std::vector<std::string> args, OnReply on_reply) {
  // On the io thread already (a callback, a timer): send now, in order with what the
  // caller does next (Stop's graceful disconnect flushes it).
  if (io_.get_executor().running_in_this_thread())
    return Send(std::move(args), std::move(on_reply));
  asio::post(io_, [this, args = std::move(args), on_reply = std::move(on_reply)]() mutable {
    Send(std::move(args), std::move(on_reply));
  });
}

void RedisConnection::Send(std::vector<std::string> args, OnReply on_reply) {
  if (ac_ == nullptr || !connected_) {
    if (on_reply) on_reply(nullptr);
    return;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* p = new Pending{this, std::move(on_reply), true};
  if (redisAsyncCommandArgv(ac_, &RedisConnection::OnReplyCb, p, static_cast<int>(argv.size()),
                            argv.data(), lens.data()) != REDIS_OK) {
    p->timed = false;
    if (p->on_reply) p->on_reply(nullptr);
    delete p;
    return;
  }
  deadlines_.push_back(Clock::now() + options_.command_timeout);
}

void RedisConnection::SubscribeOnIo(const std::vector<std::string>& channels, OnReply on_push) {
  if (ac_ == nullptr || !connected_) return;
  on_push_ = std::move(on_push);
  std::vector<const char*> argv{"SUBSCRIBE"};
  std::vector<size_t> lens{9};
  for (const auto& c : channels) {
    argv.push_back(c.data());
    lens.push_back(c.size());
  }
  // hiredis keeps the callback per channel and calls it for every message; privdata is
  // unused (nothing to free per channel).
  (void)redisAsyncCommandArgv(ac_, &RedisConnection::OnPushCb, nullptr,
                              static_cast<int>(argv.size()), argv.data(), lens.data());
}

void RedisConnection::OnConnectCb(const redisAsyncContext* ac, int status) {
  auto* conn = static_cast<RedisConnection*>(ac->data);
  if (status == REDIS_OK || conn == nullptr || conn->ac_ != ac) return;
  // hiredis frees the context right after this callback.
  if (conn->failures_ == 0) {
    spdlog::warn("redis {}: cannot connect to {}:{}: {}", conn->options_.name, conn->options_.host,
                 conn->options_.port, ac->errstr ? ac->errstr : "");
  }
  conn->Lost("connect failed");
}

void RedisConnection::OnDisconnectCb(const redisAsyncContext* ac, int) {
  auto* conn = static_cast<RedisConnection*>(ac->data);
  if (conn == nullptr || conn->ac_ != ac) return;  // we freed it ourselves (Drop)
  conn->Lost(ac->errstr && ac->err ? ac->errstr : "closed by the server");
}

void RedisConnection::OnReplyCb(redisAsyncContext*, void* reply, void* privdata) {
  auto* p = static_cast<Pending*>(privdata);
  RedisConnection* conn = p->conn;
  if (p->timed && !conn->deadlines_.empty()) conn->deadlines_.pop_front();
  if (p->on_reply) p->on_reply(static_cast<const redisReply*>(reply));
  delete p;
}

void RedisConnection::OnPushCb(redisAsyncContext* ac, void* reply, void*) {
  auto* conn = static_cast<RedisConnection*>(ac->data);
  if (reply == nullptr || conn == nullptr || !conn->on_push_) return;
  conn->on_push_(static_cast<const redisReply*>(reply));
}

}  // namespace parley::cluster
