// GatewayContext: what every connection of the gateway shares — config, dispatcher,
// metrics, and the registry of live WebSocket sessions used by graceful shutdown.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gateway/client_address.h"
#include "gateway/cluster_peers.h"
#include "gateway/config.h"
#include "gateway/dispatcher.h"
#include "gateway/gateway_metrics.h"
#include "limits/address_limits.h"

namespace parley {

class WsSession;

// Serves an HTTP request under /admin/: (method, target with query, Authorization header,
// request body, respond(status, JSON body)). `respond` may be called later, from any thread.
using AdminHandler = std::function<void(std::string method, std::string target,
                                        std::string authorization, std::string body,
                                        std::function<void(int status, std::string body)> respond)>;

struct GatewayContext {
  AdminHandler admin;  // empty: /admin/ answers 404
  GatewayConfig config;
  Dispatcher* dispatcher = nullptr;
  GatewayMetrics* metrics = nullptr;
  // Requests read but not yet answered, over all sessions (shutdown waits for zero).
  std::atomic<int64_t> in_flight{0};
  std::atomic<size_t> open_connections{0};
  std::atomic<size_t> admin_connections{0};  // those of the admin listener (also counted above)
  AddressLimits* address_limits = nullptr;   // per client address; owned by the server
  ClusterPeers* peers = nullptr;             // null: single-node mode
  TrustedProxies trusted_proxies;            // parsed config.trusted_proxies
  // Whether the node's dependencies let it serve (the store reachable); empty: always.
  // Asked by /readyz on a network thread: it must answer at once.
  std::function<bool()> ready_check;

  std::mutex sessions_mu;
  std::unordered_map<uint64_t, std::weak_ptr<WsSession>> sessions;
  uint64_t next_session_id = 0;  // guarded by sessions_mu
};

}  // namespace parley
