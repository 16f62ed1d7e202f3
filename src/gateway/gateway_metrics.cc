#include "gateway/gateway_metrics.h"

#include "metrics/stages.h"

namespace parley {
namespace {

// Latency buckets in seconds: 100 µs to 5 s.
const std::vector<double> kLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

}  // namespace

GatewayMetrics::GatewayMetrics(metrics::Registry& r)
    : connections(r.gauge("parley_connections", "Open client connections (WebSocket and HTTP).")),
      connections_accepted(
          r.counter("parley_connections_accepted_total", "Connections accepted since start.")),
      connections_refused(
          r.counter("parley_connections_refused_total",
                    "Connections refused: at max_connections or out of file descriptors.")),
      frames_in(r.counter("parley_frames_in_total", "WebSocket frames received.")),
      frames_out(r.counter("parley_frames_out_total", "WebSocket frames sent.")),
      messages_sent(r.counter("parley_messages_sent_total", "Messages stored (send acks).")),
      pushes_dropped(r.counter("parley_pushes_dropped_total",
                               "Pushes dropped for slow consumers (they get a resync hint).")),
      resync_hints(r.counter("parley_resync_hints_total", "resync pushes sent.")),
      rate_limited(r.counter("parley_rate_limited_total", "Requests refused with rate_limited.")),
      reads_paused(r.counter("parley_send_pauses_total",
                             "Sends over their rate that paused reading (backpressure).")),
      abuse_closes(r.counter("parley_abuse_closes_total",
                             "Connections closed (1008) for too many failed requests.")),
      login_failures(r.counter("parley_login_failures_total",
                               "Logins refused for an unknown name or a wrong password.")),
      login_lockouts(r.counter("parley_login_lockouts_total",
                               "Login attempts refused unchecked: the account or IP was locked "
                               "out after repeated failures.")),
      sessions_revoked(r.counter("parley_sessions_revoked_total",
                                 "Live sessions closed by the hub: revoked or expired "
                                 "credentials (4001), over the per-user cap (4002).")),
      send_latency(r.histogram("parley_send_latency_seconds",
                               "Time from a send request to its durable ack.", kLatencyBounds)),
      sync_latency(r.histogram("parley_sync_latency_seconds", "Time to answer a sync request.",
                               kLatencyBounds)),
      search_latency(r.histogram("parley_search_query_seconds",
                                 "Time to answer a search request (on a worker thread).",
                                 kLatencyBounds)),
      stage_frame_parse(metrics::StageHistogram(r, "frame_parse")),
      stage_ack_post(metrics::StageHistogram(r, "ack_post")),
      stage_ack_write(metrics::StageHistogram(r, "ack_write")),
      stage_hub(metrics::StageHistogram(r, "hub")),
      stage_push_post(metrics::StageHistogram(r, "push_post")),
      stage_push_write(metrics::StageHistogram(r, "push_write")) {
  for (size_t i = 1; i < kCodeCount; ++i) {
    std::string code(CodeName(static_cast<Code>(i)));
    errors[i] = &r.counter("parley_errors_total", "Error replies by code.", {{"code", code}});
  }
  errors[0] = errors[static_cast<size_t>(Code::kInternal)];
  // Registered up front, so that a scrape shows 0 rather than nothing.
  const char* const kHttpErrors = "parley_http_errors_total";
  const char* const kHttpHelp =
      "HTTP connections ended by an unexpected error (not a client leaving or timing out), "
      "by step.";
  const char* const kWsErrors = "parley_ws_errors_total";
  const char* const kWsHelp =
      "WebSocket sessions ended by an unexpected error (not a close, a client leaving or "
      "an idle timeout), by step.";
  auto set = [&](ConnectionStep step, const char* name, const char* help, const char* what) {
    connection_errors[static_cast<size_t>(step)] = &r.counter(name, help, {{"what", what}});
  };
  set(ConnectionStep::kTlsHandshake, kHttpErrors, kHttpHelp, "tls_handshake");
  set(ConnectionStep::kHttpRead, kHttpErrors, kHttpHelp, "read");
  set(ConnectionStep::kHttpWrite, kHttpErrors, kHttpHelp, "write");
  set(ConnectionStep::kWsHandshake, kWsErrors, kWsHelp, "handshake");
  set(ConnectionStep::kWsRead, kWsErrors, kWsHelp, "read");
  set(ConnectionStep::kWsWrite, kWsErrors, kWsHelp, "write");
  set(ConnectionStep::kWsClose, kWsErrors, kWsHelp, "close");
}

}  // namespace parley
