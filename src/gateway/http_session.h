// HttpSession: one accepted connection, plain or TLS, from the TLS handshake to either its
// close or its upgrade to a WebSocket session. It reads HTTP/1.1 requests (Beast), asks
// the RouteTable which handler serves each, writes the handler's reply, and keeps the
// connection alive for at most http_max_requests_per_conn requests. At /ws it checks the
// Origin ([server] allowed_origins) and hands the connection, and its slot, to a
// WsSession. Every wait has a deadline (http_idle_timeout_ms): the TLS handshake, each
// request, each response — but none runs while a handler works (an admin backup may take
// minutes), since no socket operation is pending then.
//
// This is the one translation unit that parses HTTP; its header has no Beast in it, so the
// listener (which only accepts) compiles with Asio alone.
//
// Threading: a session runs on its connection's io_context thread; handlers reply from any
// thread (the reply is posted back).
#pragma once

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "gateway/connection_slot.h"
#include "gateway/gateway_context.h"
#include "gateway/routes.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace parley {

// Serves `socket` until it closes or becomes a WebSocket. `tls` null: plain TCP, else the
// server certificate (the session keeps it alive). `on_admin_listener`: the connection
// came in on the admin port (RouteTable::Find). `ctx` and `routes` must outlive every
// session. Call on the socket's own executor.
void StartHttpSession(boost::asio::ip::tcp::socket socket,
                      std::shared_ptr<boost::asio::ssl::context> tls, GatewayContext& ctx,
                      const RouteTable& routes, ConnectionSlot slot, bool on_admin_listener);

}  // namespace parley
