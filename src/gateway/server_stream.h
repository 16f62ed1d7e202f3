// ServerStream: the byte stream of one accepted connection — plain TCP, or TLS over TCP
// when the listener has a certificate — chosen at run time, so that HttpSession and
// WsSession (websocket::stream<ServerStream>) are written, and compiled, once for both.
// It is an Asio AsyncReadStream/AsyncWriteStream and provides the teardown hooks that the
// WebSocket close needs. Timeouts live in the TCP layer (beast::tcp_stream): set them on
// tcp(). Included only by the Beast translation units (server.cc, ws_session.cc).
//
// Thread-safety: as any Asio stream: used from its connection's thread only.
#pragma once

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <memory>
#include <variant>

namespace parley {

class ServerStream {
 public:
  using Tcp = boost::beast::tcp_stream;
  using Tls = boost::beast::ssl_stream<Tcp>;
  using executor_type = Tcp::executor_type;

  // Plain TCP.
  explicit ServerStream(Tcp tcp) : stream_(std::in_place_type<Tcp>, std::move(tcp)) {}
  // TLS with the certificate of `tls`, which this stream keeps alive (a SIGHUP reload
  // gives new connections a new context; the old one lives on with its connections).
  ServerStream(Tcp tcp, std::shared_ptr<boost::asio::ssl::context> tls)
      : stream_(std::in_place_type<Tls>, std::move(tcp), *tls), tls_context_(std::move(tls)) {}

  ServerStream(ServerStream&&) = default;
  ServerStream& operator=(ServerStream&&) = default;

  executor_type get_executor() noexcept { return tcp().get_executor(); }
  bool is_tls() const { return std::holds_alternative<Tls>(stream_); }
  // The TCP layer: timeouts (expires_after), the socket and its peer address.
  Tcp& tcp() { return is_tls() ? std::get<Tls>(stream_).next_layer() : std::get<Tcp>(stream_); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (auto* tls = std::get_if<Tls>(&stream_)) {
      tls->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      std::get<Tcp>(stream_).async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (auto* tls = std::get_if<Tls>(&stream_)) {
      tls->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      std::get<Tcp>(stream_).async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

  // The server side of the TLS handshake; for plain TCP it completes at once.
  template <class Handler>
  void async_handshake(Handler&& handler) {
    if (auto* tls = std::get_if<Tls>(&stream_)) {
      tls->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(handler));
    } else {
      boost::asio::post(get_executor(), [h = std::forward<Handler>(handler)]() mutable {
        h(boost::beast::error_code{});
      });
    }
  }

  // Closes the socket when a WebSocket timeout fires (found by argument-dependent lookup).
  friend void beast_close_socket(ServerStream& s) { s.tcp().close(); }

  // WebSocket close hooks (found by argument-dependent lookup from websocket::stream).
  friend void teardown(boost::beast::role_type role, ServerStream& s,
                       boost::beast::error_code& ec) {
    using boost::beast::websocket::teardown;
    if (auto* tls = std::get_if<Tls>(&s.stream_)) {
      teardown(role, *tls, ec);
    } else {
      teardown(role, std::get<Tcp>(s.stream_).socket(), ec);
    }
  }
  template <class TeardownHandler>
  friend void async_teardown(boost::beast::role_type role, ServerStream& s,
                             TeardownHandler&& handler) {
    using boost::beast::websocket::async_teardown;
    if (auto* tls = std::get_if<Tls>(&s.stream_)) {
      async_teardown(role, *tls, std::forward<TeardownHandler>(handler));
    } else {
      async_teardown(role, std::get<Tcp>(s.stream_), std::forward<TeardownHandler>(handler));
    }
  }

 private:
  std::variant<Tcp, Tls> stream_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // null for plain TCP
};

}  // namespace parley
