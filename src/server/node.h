// Node: one whole Parley server in a process — the store, the message core, the commit
// feed, the hub, search, scheduled backups, the metrics, the admin endpoints and the
// gateway, chosen and wired together. parleyd is a Node plus flags, signals and a port
// file; a test can start one in-process on a free port (node_test.cc).
//
// Start order follows the dependencies (members are declared in it): commit feed, core
// (opens the store; publishes to the feed), hub (follows the feed), search (reads the
// store, follows the feed), backups, admin endpoints, gateway. Stop goes the other way:
// an admin job in progress is answered, the gateway stops accepting, answers what it has
// read and closes every client (1001), scheduled backups stop, the commit feed delivers
// what is queued, search stops at a checkpoint, and the core commits what is queued and
// closes the store. Whatever Start had started when it failed is stopped the same way.
//
// Thread-safety: Start and Stop from one controlling thread; the accessors from any.
#pragma once

#include <memory>

#include "backup/backup_service.h"
#include "cluster/cluster.h"
#include "common/circuit_breaker.h"
#include "common/status.h"
#include "files/file_service.h"
#include "gateway/server.h"
#include "hub/hub.h"
#include "metrics/metrics.h"
#include "search/search_service.h"
#include "server/admin_api.h"
#include "server/config_file.h"
#include "server/periodic_probe.h"
#include "server/redis_peers.h"
#include "service/commit_feed.h"
#include "service/core.h"

namespace parley {

class Node {
 public:
  // Makes the data directory private (0700; an older one with looser modes is tightened),
  // opens the store and starts every part `config` asks for. On error, says which part
  // failed and leaves nothing running.
  static Result<std::unique_ptr<Node>> Start(const ServerConfig& config);
  ~Node();  // Stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Graceful stop in the order above; idempotent.
  void Stop();

  // The gateway's bound port (useful with port 0), and the admin listener's (0: none).
  uint16_t port() const { return server_->port(); }
  uint16_t admin_port() const { return server_->admin_port(); }
  bool tls() const { return !config_.gateway.tls_cert_file.empty(); }
  // See Server::ReloadTls.
  Status ReloadTls() { return server_->ReloadTls(); }

  Core& core() { return *core_; }
  Hub& hub() { return hub_; }
  CommitFeed& feed() { return feed_; }
  metrics::Registry& registry() { return registry_; }

 private:
  explicit Node(const ServerConfig& config);
  // The steps of Start, in order; each registers its metrics.
  Status OpenCore();
  Status StartSearch();
  Status StartBackups();
  // With [cluster] redis: the Redis side (hints, presence, shared limits), wired to the
  // hub and the commit feed. Never waits for Redis.
  void StartCluster();
  void StartAdmin();
  // [attachments] enabled: the file service, wired to the core's recalls.
  Status StartFiles();
  Status StartGateway();

  const ServerConfig config_;
  bool stopped_ = false;
  metrics::Registry registry_;  // first in, last out: every part registers into it
  CommitFeed feed_;             // before the core, whose sequencer publishes to it
  // PostgreSQL's breaker (cluster mode; stays closed with RocksDB) and the probe that keeps
  // it current; the breaker outlives the core that uses it.
  CircuitBreaker store_breaker_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<PeriodicProbe> store_probe_;
  CheckpointSource* checkpoints_ = nullptr;  // the store's, when it can take them
  Hub hub_;
  CommitFeed::Subscription commit_metrics_;
  std::unique_ptr<cluster::Cluster> cluster_;       // null: single-node mode
  std::unique_ptr<RedisPeers> peers_;               // null: single-node mode
  CommitFeed::Subscription cluster_hints_;          // publishes local commits to other nodes
  std::unique_ptr<search::SearchService> search_;   // null: search disabled
  std::unique_ptr<backup::BackupService> backups_;  // null: no backup target
  std::unique_ptr<AdminApi> admin_;
  std::unique_ptr<files::FileService> files_;  // null: attachments disabled
  std::unique_ptr<Server> server_;
};

// parleyd --status: prepares the data directory like Start, opens the store, logs its
// counters and closes it.
Status LogStoreStatus(const ServerConfig& config);

}  // namespace parley
