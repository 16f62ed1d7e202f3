// Graceful shutdown's handle on the live WebSocket sessions (GatewayContext::sessions).
// Declared apart from ws_session.h, and defined in ws_session.cc, so that server.cc
// compiles without Beast.
//
// Thread-safety: both take ctx.sessions_mu; see each call for when it may run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/gateway_context.h"

namespace parley {

// Starts the close handshake of every live session with `code` (from any thread; the
// closes run on the sessions' threads). Returns how many were asked to close.
size_t CloseLiveSessions(GatewayContext& ctx, uint16_t code, const std::string& reason);

// Ends every session still registered, detaching it from the dispatcher and hub. Only
// once the network threads are stopped.
void AbandonLiveSessions(GatewayContext& ctx);

}  // namespace parley
