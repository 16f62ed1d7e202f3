#include "cluster/presence.h"

#include <boost/asio/post.hpp>
#include <charconv>

namespace parley::cluster {

namespace asio = boost::asio;

namespace {
constexpr const char* kNodesKey = "parley:nodes";
}  // namespace

Presence::Presence(asio::io_context& io, RedisConnection& conn, PresenceOptions options)
    : io_(io),
      conn_(conn),
      options_(std::move(options)),
      heartbeat_timer_(io),
      refresh_timer_(io) {}

std::string Presence::PresenceKey(UserId user) {
  return "parley:presence:{" + std::to_string(user) + "}";
}

int64_t Presence::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Presence::Start() {
  asio::post(io_, [this] {
    started_ = true;
    Heartbeat();
    ScheduleRefresh();
  });
}

void Presence::Stop() {
  asio::post(io_, [this] {
    stopped_ = true;
    heartbeat_timer_.cancel();
    refresh_timer_.cancel();
    conn_.Command({"ZREM", kNodesKey, options_.node});
  });
}

void Presence::OnConnected() {
  if (!started_ || stopped_) return;
  Heartbeat();  // and restarts its timer
  RefreshNow();
}

void Presence::Heartbeat() {
  const int64_t now = NowMs();
  const int64_t dead_before = now - 3 * options_.node_interval.count();
  conn_.Command({"ZADD", kNodesKey, std::to_string(now), options_.node});
  conn_.Command({"ZREMRANGEBYSCORE", kNodesKey, "-inf", "(" + std::to_string(dead_before)});
  heartbeat_timer_.expires_after(options_.node_interval);
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Heartbeat();
  });
}

void Presence::ScheduleRefresh() {
  refresh_timer_.expires_after(options_.device_refresh);
  refresh_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    RefreshNow();
    ScheduleRefresh();
  });
}

void Presence::RefreshNow() {
  std::vector<std::pair<UserId, std::string>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.reserve(sessions_.size());
    for (const auto& [key, count] : sessions_) all.push_back(key);
  }
  // One batch per io turn: the commands of a batch leave in one write (hiredis buffers
  // them until the socket is writable), and other work interleaves between batches.
  const size_t batch = std::max<size_t>(1, options_.refresh_batch);
  for (size_t i = 0; i < all.size(); i += batch) {
    std::vector<std::pair<UserId, std::string>> part(all.begin() + i,
                                                     all.begin() + std::min(all.size(), i + batch));
    asio::post(io_, [this, part = std::move(part)] { WriteDevices(part); });
  }
}

void Presence::WriteDevices(const std::vector<std::pair<UserId, std::string>>& devices) {
  const std::string value =
      options_.node + ":" +
      std::to_string(
          NowMs() +
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.device_ttl).count());
  const std::string ttl = std::to_string(options_.device_ttl.count());
  for (const auto& [user, device] : devices) {
    const std::string key = PresenceKey(user);
    conn_.Command({"HSET", key, device, value});
    conn_.Command({"EXPIRE", key, ttl});
  }
}

void Presence::DeviceOnline(UserId user, const std::string& device) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_[{user, device}]++ > 0) return;  // already written for this device
  }
  std::vector<std::pair<UserId, std::string>> one{{user, device}};
  asio::post(io_, [this, one = std::move(one)] { WriteDevices(one); });
}

void Presence::DeviceOffline(UserId user, const std::string& device) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find({user, device});
    if (it == sessions_.end()) return;
    if (--it->second > 0) return;
    sessions_.erase(it);
  }
  // Only our own field: the same device may meanwhile be online on another node.
  // (A race with a reconnect elsewhere can remove that node's fresh field; its next
  // refresh restores it.)
  conn_.Command({"HDEL", PresenceKey(user), device});
}

size_t Presence::local_devices() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

void Presence::AliveNodes(std::function<void(Result<std::vector<std::string>>)> done) {
  const int64_t since = NowMs() - 3 * options_.node_interval.count();
  conn_.Command({"ZRANGEBYSCORE", kNodesKey, std::to_string(since), "+inf"},
                [done = std::move(done)](const redisReply* reply) {
                  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) {
                    return done(Status(Code::kUnavailable, "redis is unavailable"));
                  }
                  std::vector<std::string> nodes;
                  for (size_t i = 0; i < reply->elements; ++i) {
                    nodes.emplace_back(ReplyString(reply->element[i]));
                  }
                  std::sort(nodes.begin(), nodes.end());
                  done(std::move(nodes));
                });
}

void Presence::WhereIs(UserId user, std::function<void(Result<std::vector<DevicePresence>>)> done) {
  conn_.Command({"HGETALL", PresenceKey(user)}, [this,
                                                 done = std::move(done)](const redisReply* reply) {
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) {
      return done(Status(Code::kUnavailable, "redis is unavailable"));
    }
    const int64_t now = NowMs();
    std::vector<DevicePresence> out;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
      const std::string_view value = ReplyString(reply->element[i + 1]);
      const size_t colon = value.rfind(':');
      if (colon == std::string_view::npos) continue;  // not ours: ignore
      int64_t expiry = 0;
      const std::string_view digits = value.substr(colon + 1);
      if (std::from_chars(digits.data(), digits.data() + digits.size(), expiry).ec != std::errc() ||
          expiry <= now) {
        continue;
      }
      out.push_back(DevicePresence{std::string(ReplyString(reply->element[i])),
                                   std::string(value.substr(0, colon)), expiry});
    }
    done(std::move(out));
  });
}

}  // namespace parley::cluster
