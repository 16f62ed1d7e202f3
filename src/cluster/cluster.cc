#include "cluster/cluster.h"

#include <spdlog/spdlog.h>

namespace parley::cluster {

Cluster::Cluster(ClusterOptions options, HintHandlers handlers, metrics::Registry& registry)
    : options_(std::move(options)),
      work_(io_.get_executor()),
      up_gauge_(registry.gauge("parley_redis_up",
                               "1 while this node's Redis connections (commands and "
                               "subscription) are both up.")) {
  RedisConnectionOptions conn = options_.connection;
  conn.host = options_.redis_host;
  conn.port = options_.redis_port;
  conn.name = "commands";
  commands_ = std::make_unique<RedisConnection>(io_, conn, [this](bool up) {
    UpdateGauge();
    if (up) presence_->OnConnected();  // what was written before is missing
  });
  conn.name = "hints";
  subscriber_ = std::make_unique<RedisConnection>(io_, conn, [this](bool up) {
    UpdateGauge();
    bus_->OnSubscriberState(up);
  });
  bus_ = std::make_unique<HintBus>(*commands_, *subscriber_, options_.node, std::move(handlers),
                                   registry);
  PresenceOptions presence = options_.presence;
  presence.node = options_.node;
  presence_ = std::make_unique<Presence>(io_, *commands_, presence);
  limits_ = std::make_unique<SharedLimits>(*commands_, options_.limits, registry);
  up_gauge_.Set(0);
}

Cluster::~Cluster() { Stop(); }

void Cluster::UpdateGauge() { up_gauge_.Set(redis_up() ? 1 : 0); }

void Cluster::Start() {
  if (started_) return;
  started_ = true;
  spdlog::info("cluster: node {} using redis at {}:{}", options_.node, options_.redis_host,
               options_.redis_port);
  commands_->Start();
  subscriber_->Start();
  presence_->Start();
  thread_ = std::thread([this] { io_.run(); });
}

void Cluster::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (started_) {
    presence_->Stop();  // its ZREM is queued before the connections close
    subscriber_->Stop();
    commands_->Stop();
  }
  work_.reset();  // run() returns once the connections are gone
  if (thread_.joinable()) thread_.join();
  up_gauge_.Set(0);
}

}  // namespace parley::cluster
