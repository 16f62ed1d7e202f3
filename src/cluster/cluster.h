// Cluster: a node's Redis side of cluster mode in one object — the io thread, a command
// connection (PUBLISH, presence, limits) and a subscriber connection, the HintBus,
// Presence and SharedLimits over them. Node (src/server) starts one when [cluster]
// redis is set and wires its handlers to the hub.
//
// Start never waits for Redis: the connections come up in the background and retry
// forever. parley_redis_up (gauge) is 1 while both connections are up.
//
// Thread-safety: Start/Stop from the controlling thread; the parts' own rules otherwise.
// Handlers run on the io thread.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>

#include "cluster/cluster_config.h"
#include "cluster/hint_bus.h"
#include "cluster/presence.h"
#include "cluster/redis_connection.h"
#include "cluster/shared_limits.h"
#include "metrics/metrics.h"

namespace parley::cluster {

struct ClusterOptions {
  std::string node;  // required
  std::string redis_host;
  uint16_t redis_port = 6379;
  RedisConnectionOptions connection;  // host, port and name are filled from the above
  PresenceOptions presence;           // node is filled from the above
  SharedLimitsOptions limits;
};

class Cluster {
 public:
  // `registry` must outlive the cluster.
  Cluster(ClusterOptions options, HintHandlers handlers, metrics::Registry& registry);
  ~Cluster();  // Stop()
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  void Start();
  // Leaves the node registry, closes both connections (what is queued still goes out,
  // bounded by the command timeout) and joins the io thread. No handler runs after it.
  // Idempotent.
  void Stop();

  HintBus& bus() { return *bus_; }
  Presence& presence() { return *presence_; }
  SharedLimits& limits() { return *limits_; }
  RedisConnection& commands() { return *commands_; }
  const std::string& node() const { return options_.node; }
  bool redis_up() const { return commands_->up() && subscriber_->up(); }

 private:
  void UpdateGauge();

  const ClusterOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  metrics::Gauge& up_gauge_;
  std::unique_ptr<RedisConnection> commands_;
  std::unique_ptr<RedisConnection> subscriber_;
  std::unique_ptr<HintBus> bus_;
  std::unique_ptr<Presence> presence_;
  std::unique_ptr<SharedLimits> limits_;
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace parley::cluster
