// Presence: which nodes are alive and where users' devices are connected, in Redis with
// TTLs — so nothing has to clean up after a node that dies.
//
// Keys:
//   parley:nodes          ZSET  member = node name, score = last heartbeat (ms, the node's
//                         clock). Refreshed every node_interval; entries older than
//                         3 intervals are dead and pruned by every live node.
//   parley:presence:{uid} HASH  field = device id, value = "<node>:<expiry_ms>"; the key
//                         gets EXPIRE device_ttl on every write. Refreshed every
//                         device_refresh in pipelined batches; the field is removed when
//                         the device's last session on this node ends. A reader ignores
//                         fields whose expiry passed (a dead node's devices).
//
// Nothing here is needed for correctness; with Redis down writes are dropped (counted
// by the connection's callers as nothing: the next refresh rewrites everything).
//
// Thread-safety: all methods from any thread; query callbacks run on the io thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cluster/redis_connection.h"
#include "common/status.h"
#include "model/records.h"

namespace parley::cluster {

struct PresenceOptions {
  std::string node;  // this node's name (required)
  // Heartbeat period of the node registry. Default: 5 s.
  std::chrono::milliseconds node_interval{5000};
  // TTL of a presence key and of each field's expiry. Default: 90 s.
  std::chrono::seconds device_ttl{90};
  // How often this node rewrites its devices' presence. Default: 30 s.
  std::chrono::milliseconds device_refresh{30000};
  // Devices per pipelined batch of a refresh. Default: 512.
  size_t refresh_batch = 512;
};

struct DevicePresence {
  std::string device;
  std::string node;
  int64_t expiry_ms = 0;
};

class Presence {
 public:
  // `conn` (a command connection, not the subscriber) must outlive this object.
  Presence(boost::asio::io_context& io, RedisConnection& conn, PresenceOptions options);

  // Starts the timers (heartbeat, refresh). Stop cancels them and removes this node
  // from the registry (best effort). Run both before the io_context stops.
  void Start();
  void Stop();

  // A session of `user` on `device` authenticated / ended on this node. Counted: the
  // field goes when the device's last session here ends.
  void DeviceOnline(UserId user, const std::string& device);
  void DeviceOffline(UserId user, const std::string& device);

  // Devices online here now (sessions counted once per device).
  size_t local_devices() const;

  // Live nodes (heartbeat within 3 intervals of now), sorted. kUnavailable when Redis is.
  void AliveNodes(std::function<void(Result<std::vector<std::string>>)> done);
  // Where `user` is online (fields not expired). kUnavailable when Redis is down.
  void WhereIs(UserId user, std::function<void(Result<std::vector<DevicePresence>>)> done);

  // Rewrites every local device now (what the timer does). For tests.
  void RefreshNow();
  // The command connection is (again) up: heartbeat and rewrite every device at once
  // (what was written before start, or before a Redis restart, is missing). Io thread.
  void OnConnected();

  static std::string PresenceKey(UserId user);

 private:
  void Heartbeat();
  void ScheduleRefresh();
  void WriteDevices(const std::vector<std::pair<UserId, std::string>>& devices);
  int64_t NowMs() const;

  boost::asio::io_context& io_;
  RedisConnection& conn_;
  const PresenceOptions options_;
  boost::asio::steady_timer heartbeat_timer_;  // io thread
  boost::asio::steady_timer refresh_timer_;    // io thread
  bool started_ = false;                       // io thread
  bool stopped_ = false;                       // io thread
  mutable std::mutex mu_;
  std::map<std::pair<UserId, std::string>, size_t> sessions_;  // guarded by mu_
};

}  // namespace parley::cluster
