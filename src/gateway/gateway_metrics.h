// GatewayMetrics: the gateway's Prometheus series, registered once at start-up and then
// updated lock-free from every network thread. docs/operations.md lists them.
#pragma once

#include <array>

#include "common/status.h"
#include "metrics/metrics.h"

namespace parley {

inline constexpr size_t kCodeCount = static_cast<size_t>(kLastCode) + 1;

// The step of a connection that failed with an unexpected error (connection_errors.h):
// parley_http_errors_total{what} for the first three, parley_ws_errors_total{what} for the
// rest.
enum class ConnectionStep {
  kTlsHandshake,
  kHttpRead,
  kHttpWrite,
  kWsHandshake,
  kWsRead,
  kWsWrite,
  kWsClose,
};
inline constexpr size_t kConnectionStepCount = static_cast<size_t>(ConnectionStep::kWsClose) + 1;

struct GatewayMetrics {
  explicit GatewayMetrics(metrics::Registry& registry);

  metrics::Counter& Error(Code code) { return *errors[static_cast<size_t>(code)]; }
  metrics::Counter& ConnectionError(ConnectionStep step) {
    return *connection_errors[static_cast<size_t>(step)];
  }

  metrics::Gauge& connections;
  metrics::Counter& connections_accepted;
  metrics::Counter& connections_refused;
  metrics::Counter& frames_in;
  metrics::Counter& frames_out;
  metrics::Counter& messages_sent;
  metrics::Counter& pushes_dropped;
  metrics::Counter& resync_hints;
  metrics::Counter& rate_limited;
  metrics::Counter& reads_paused;  // a send over its rate held its connection's reading
  metrics::Counter& abuse_closes;
  metrics::Counter& login_failures;
  metrics::Counter& login_lockouts;
  metrics::Counter& sessions_revoked;
  metrics::Histogram& send_latency;
  metrics::Histogram& sync_latency;
  metrics::Histogram& search_latency;
  std::array<metrics::Counter*, kCodeCount> errors{};
  std::array<metrics::Counter*, kConnectionStepCount> connection_errors{};
};

}  // namespace parley
