#include "gateway/connection_errors.h"

#include <spdlog/spdlog.h>

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include "common/clock.h"
#include "limits/log_throttle.h"

namespace parley {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

const char* StepName(ConnectionStep step) {
  switch (step) {
    case ConnectionStep::kTlsHandshake:
      return "TLS handshake";
    case ConnectionStep::kHttpRead:
      return "HTTP read";
    case ConnectionStep::kHttpWrite:
      return "HTTP write";
    case ConnectionStep::kWsHandshake:
      return "WebSocket handshake";
    case ConnectionStep::kWsRead:
      return "WebSocket read";
    case ConnectionStep::kWsWrite:
      return "WebSocket write";
    case ConnectionStep::kWsClose:
      return "WebSocket close";
  }
  return "connection";
}

}  // namespace

bool IsExpectedDisconnect(const boost::system::error_code& ec) {
  return !ec || ec == asio::error::operation_aborted ||  // our own cancel or close
         ec == beast::websocket::error::closed ||        // the close handshake completed
         ec == beast::http::error::end_of_stream ||      // keep-alive client went away
         ec == beast::http::error::partial_message ||    // it left in mid-request
         ec == asio::error::eof ||                       // the peer closed its side
         ec == beast::error::timeout ||                  // idle or too slow: a deadline
         ec == asio::error::connection_reset ||          // the peer left abruptly
         ec == asio::error::connection_aborted ||        // (the same, on some paths)
         ec == asio::error::broken_pipe ||               // we wrote after it left
         ec == asio::error::not_connected ||             // shut down under us
         ec == asio::ssl::error::stream_truncated;       // TLS peer left without close_notify
}

bool ReportConnectionError(GatewayMetrics& metrics, ConnectionStep step,
                           const boost::system::error_code& ec, std::string_view peer) {
  if (IsExpectedDisconnect(ec)) return false;
  metrics.ConnectionError(step).Inc();
  // Ten lines a minute at most, over every connection.
  static LogThrottle throttle(10, 60'000'000);
  uint64_t suppressed = 0;
  if (throttle.Allow(MonotonicNanos() / 1000, &suppressed)) {
    spdlog::warn("{} failed on a connection from {}: {} ({}:{}){}", StepName(step), peer,
                 ec.message(), ec.category().name(), ec.value(),
                 suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed) : "");
  }
  return true;
}

}  // namespace parley
