// How a connection's sessions (HttpSession, WsSession) treat a failed network operation,
// after Beast's examples' fail(): the errors of a connection ending normally — the client
// closed or left, an idle timeout, our own cancel — are expected and go unreported; every
// other one (a broken handshake, a protocol violation, a frame over the limit, a failed
// write) is counted in parley_http_errors_total / parley_ws_errors_total{what=step} and
// logged, at most a few lines a minute (a scanner must not flood the log).
//
// Thread-safety: both functions may be called from any thread.
#pragma once

#include <boost/system/error_code.hpp>
#include <string_view>

#include "gateway/gateway_metrics.h"

namespace parley {

// True for the errors of a connection that ended as connections do: the peer closed or
// reset it, a timeout fired, or the operation was cancelled on purpose.
bool IsExpectedDisconnect(const boost::system::error_code& ec);

// Counts and logs `ec` (failed at `step`, on a connection from `peer`) unless it is
// expected. Returns true if it was reported.
bool ReportConnectionError(GatewayMetrics& metrics, ConnectionStep step,
                           const boost::system::error_code& ec, std::string_view peer);

}  // namespace parley
