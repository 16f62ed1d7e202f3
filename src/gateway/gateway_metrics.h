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
  // The gateway's stages of the message path (metrics/stages.h, parley_stage_seconds).
  metrics::Histogram& stage_frame_parse;  // a frame read -> its request parsed and dispatched
  metrics::Histogram& stage_ack_post;     // Reply() called -> on the session's thread
  metrics::Histogram& stage_ack_write;    // a reply queued -> its write completed
  metrics::Histogram& stage_hub;          // Hub::OnCommit, per commit (the hub observes it)
  metrics::Histogram& stage_push_post;    // Deliver() called -> on the session's thread
  metrics::Histogram& stage_push_write;   // a push queued -> its write completed
  std::array<metrics::Counter*, kCodeCount> errors{};
  std::array<metrics::Counter*, kConnectionStepCount> connection_errors{};
};

}  // namespace parley
