// Server: the network edge of parleyd — one port serving the WebSocket protocol at /ws
// and HTTP for /healthz, /readyz, /metrics and /admin/* (plain TCP, or TLS with a
// certificate: wss:// and https://), and optionally a second, plain-HTTP admin port that
// then alone serves /metrics and /admin/*. New connections are admitted per client
// address (open connections and handshake rate, see GatewayConfig [limits]).
//
// It runs one io_context per network thread (connections are spread round-robin and
// stay on their thread) plus a worker pool for blocking work. Shutdown is graceful: stop
// accepting, answer every request already read, then close each client with 1001.
//
// Thread-safety: Start/Shutdown from one controlling thread; the rest is internal.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "gateway/attachment_links.h"
#include "gateway/cluster_peers.h"
#include "gateway/config.h"
#include "gateway/gateway_context.h"
#include "gateway/routes.h"
#include "hub/hub.h"
#include "metrics/metrics.h"
#include "service/api.h"

namespace parley {
namespace search {
class SearchService;
}  // namespace search

// What other components add to the edge: the attachment service's links for file sends
// and its HTTP routes (src/files).
struct ServerExtras {
  AttachmentLinks* attachments = nullptr;
  std::vector<Route> routes;
};

class Server {
 public:
  // Binds and starts serving. `core`, `hub`, `registry`, `search` (null: search is
  // disabled) and `peers` (null: single-node mode) must outlive the server.
  static Result<std::unique_ptr<Server>> Start(const GatewayConfig& config, CoreApi& core, Hub& hub,
                                               metrics::Registry& registry,
                                               search::SearchService* search = nullptr,
                                               AdminHandler admin = nullptr,
                                               ClusterPeers* peers = nullptr,
                                               std::function<bool()> ready_check = {},
                                               ServerExtras extras = {});
  ~Server();

  // The bound port (useful with port 0).
  uint16_t port() const;
  // The admin listener's port, 0 without one.
  uint16_t admin_port() const;

  // Loads the TLS certificate and key again (after a renewal; parleyd calls it on SIGHUP).
  // New connections get the new certificate, established ones keep theirs. On error (an
  // unreadable, invalid or mismatched file) the current certificate stays in use and the
  // error is returned. Does nothing without TLS. Thread-safe.
  Status ReloadTls();

  // Graceful stop: refuse new connections and requests, wait up to `drain` for the
  // requests already read to be answered, close every client with 1001 (going away),
  // then stop the network threads. Safe to call twice.
  void Shutdown(std::chrono::milliseconds drain);

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley
