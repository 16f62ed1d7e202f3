// The client's only Beast translation unit (each costs ~30 s and ~1.5 GB to compile).
// Everything here runs on the connection's strand, except the atomics read by open().
//
// One code path serves ws:// and wss://: the connection holds either a plain or a TLS
// WebSocket stream, and WithWs() hands whichever it is to generic code (so both stream
// types are instantiated here, in this one translation unit).
#include "client/connection.h"

#include <utility>  // before Asio: g++ 12 in C++20 mode needs it (PLATFORM.md)

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "client/event_loop_impl.h"
#include "client/tls_client.h"
#include "protocol/decode.h"

namespace parley::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;
using PlainWs = websocket::stream<tcp::socket>;
using TlsWs = websocket::stream<beast::ssl_stream<tcp::socket>>;

namespace {

constexpr std::string_view kTransport = "transport: ";
// Replies can be large (a history page of 200 messages of 32 KiB), but not unbounded.
constexpr size_t kMaxMessageBytes = 64 << 20;
// After a frame bigger than this, the read buffer is given back: 9,000 idle connections
// must not each keep the largest frame they ever saw.
constexpr size_t kKeepReadBufferBytes = 64 << 10;
// Beast masks outgoing client frames through a write buffer of this size, kept per
// connection (default 4 KiB). Typical frames are ~200 B; bigger ones are fragmented.
constexpr size_t kWriteBufferBytes = 1024;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status TransportError(std::string_view what) {
  return Status(Code::kUnavailable, std::string(kTransport) + std::string(what));
}

bool IsTransportError(const Status& status) {
  return status.code() == Code::kUnavailable && status.message().rfind(kTransport, 0) == 0;
}

struct Connection::Impl {
  Impl(EventLoop& loop, ConnectOptions opts)
      : strand(asio::make_strand(loop.impl().io)),
        plain(std::in_place, strand),
        timer(strand),
        options(std::move(opts)) {}

  struct Outgoing {
    std::string data;
    bool binary = false;
  };

  asio::strand<asio::io_context::executor_type> strand;
  // wss:// only: the shared client context (tls_client.h); outlives `tls`.
  std::shared_ptr<asio::ssl::context> tls_context;
  // Exactly one is set: `plain` from the start, swapped for `tls` by Connect for wss://.
  std::optional<PlainWs> plain;
  std::optional<TlsWs> tls;
  // One deadline at a time: connect (resolve + TCP + handshake), then close.
  asio::steady_timer timer;
  uint32_t timer_gen = 0;  // a fired deadline of an older generation is stale
  bool timed_out = false;
  std::shared_ptr<tcp::resolver> resolver;  // only while resolving a host name
  ConnectOptions options;
  Url url;
  beast::flat_buffer buffer;
  // A FIFO that allocates nothing while empty (std::deque allocates ~600 B up front).
  std::vector<Outgoing> outbox;
  size_t outbox_head = 0;
  bool writing = false;
  std::atomic<bool> is_open{false};
  std::atomic<bool> closed{false};
  // When the last frame (a reply, a push, or a control frame such as the server's ping)
  // arrived, in steady-clock milliseconds: the liveness a heartbeat looks at.
  std::atomic<int64_t> last_frame_ms{0};
  bool closing_by_us = false;
  bool aborted = false;  // closed by Abort(): no close frame was exchanged
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, ReplyHandler> pending;
  FrameHandler on_push, on_raw;
  CloseHandler on_close;

  // Calls f with the WebSocket stream, whichever type it is.
  template <class F>
  decltype(auto) WithWs(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }
  tcp::socket& socket() {
    return tls ? beast::get_lowest_layer(*tls) : beast::get_lowest_layer(*plain);
  }
};

namespace {

using Self = std::shared_ptr<Connection>;
using Impl = Connection::Impl;
using DoneFn = std::shared_ptr<std::function<void(Status)>>;

void CloseSocket(Impl& m) {
  error_code ignored;
  m.socket().shutdown(tcp::socket::shutdown_both, ignored);
  m.socket().close(ignored);
}

// Arms the deadline: when it passes, the socket is closed, which fails whatever is
// pending (resolve, connect, handshake, close).
void Arm(const Self& self, Impl& m, int64_t ms) {
  const uint32_t gen = ++m.timer_gen;
  m.timer.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, ms)));
  m.timer.async_wait([self, &m, gen](error_code ec) {
    if (ec || gen != m.timer_gen) return;
    m.timed_out = true;
    if (m.resolver) m.resolver->cancel();
    CloseSocket(m);
  });
}

void Disarm(Impl& m) {
  ++m.timer_gen;
  m.timer.cancel();
}

void FreeOutbox(Impl& m) {
  std::vector<Impl::Outgoing>().swap(m.outbox);
  m.outbox_head = 0;
}

// Ends an opened connection once: fails waiting calls, frees buffers, reports the close.
void Shut(Impl& m, Status status, int code) {
  if (m.closed.exchange(true)) return;
  const bool was_open = m.is_open.exchange(false);
  Disarm(m);
  CloseSocket(m);
  auto pending = std::move(m.pending);
  m.pending.clear();
  for (auto& [id, handler] : pending) handler(TransportError("connection closed"), -1);
  // The outbox and the read buffer are freed by the write and read handlers, which
  // always run once the socket is closed: an operation in flight may still use them.
  if (!m.writing) FreeOutbox(m);
  auto on_close = std::move(m.on_close);
  // Handlers may hold the caller's state alive; a closed connection needs none of them.
  m.on_close = nullptr;
  m.on_push = nullptr;
  m.on_raw = nullptr;
  if (was_open && on_close) on_close(std::move(status), code);
}

// `detail` replaces the error code's message when set.
void FailConnect(Impl& m, const DoneFn& done, std::string_view what, const error_code& ec,
                 const std::string& detail = "") {
  m.closed = true;
  m.resolver.reset();
  Disarm(m);
  CloseSocket(m);
  std::string why = m.timed_out       ? "connect to " + m.url.HostHeader() + " timed out"
                    : m.closing_by_us ? "closed while connecting"
                                      : std::string(what) + " " + m.url.HostHeader() + ": " +
                                            (detail.empty() ? ec.message() : detail);
  (*done)(TransportError(why));
}

void Dispatch(Impl& m, std::string frame) {
  auto header = DecodeHeader(frame);
  if (header.ok() && header->is_push) {
    if (m.on_push) m.on_push(std::move(frame));
    return;
  }
  if (header.ok() && header->has_id) {
    auto it = m.pending.find(header->id);
    if (it != m.pending.end()) {
      Connection::ReplyHandler handler = std::move(it->second);
      m.pending.erase(it);
      if (header->ok) {
        handler(std::move(frame), -1);
      } else {
        int64_t retry = -1;
        Status st = DecodeError(frame, &retry);
        handler(std::move(st), retry);
      }
      return;
    }
  }
  if (m.on_raw) m.on_raw(std::move(frame));
}

void ReadLoop(const Self& self, Impl& m) {
  m.WithWs([&](auto& ws) {
    ws.async_read(m.buffer, [self, &m](error_code ec, size_t) {
      if (ec) {
        const websocket::close_reason close = m.WithWs([](auto& s) { return s.reason(); });
        const int code = close.code;
        if (m.closing_by_us) {
          Shut(m, Status::Ok(), m.aborted ? 0 : (code ? code : 1000));
        } else if (ec == websocket::error::closed) {
          std::string reason(close.reason.data(), close.reason.size());
          Shut(m,
               TransportError("closed by the server (" + std::to_string(code) +
                              (reason.empty() ? "" : ": " + reason) + ")"),
               code);
        } else {
          Shut(m, TransportError("connection lost: " + ec.message()), 0);
        }
        m.buffer.clear();  // no read is in flight any more
        m.buffer.shrink_to_fit();
        return;
      }
      m.last_frame_ms = SteadyMs();
      std::string frame = beast::buffers_to_string(m.buffer.data());
      m.buffer.consume(m.buffer.size());
      if (m.buffer.capacity() > kKeepReadBufferBytes) m.buffer.shrink_to_fit();
      Dispatch(m, std::move(frame));
      if (!m.closed) ReadLoop(self, m);
    });
  });
}

void WriteLoop(const Self& self, Impl& m) {
  if (m.writing || m.outbox_head == m.outbox.size() || !m.is_open || m.closed) return;
  m.writing = true;
  Impl::Outgoing& next = m.outbox[m.outbox_head];
  m.WithWs([&](auto& ws) {
    ws.binary(next.binary);
    ws.async_write(asio::buffer(next.data), [self, &m](error_code ec, size_t) {
      m.writing = false;
      if (ec || m.closed) {
        if (m.closing_by_us) {
          Shut(m, Status::Ok(), m.aborted ? 0 : 1000);
        } else {
          Shut(m, TransportError("write failed: " + ec.message()), 0);
        }
        FreeOutbox(m);  // no write is in flight any more
        return;
      }
      std::string().swap(m.outbox[m.outbox_head].data);
      if (++m.outbox_head == m.outbox.size()) {
        m.outbox.clear();
        m.outbox_head = 0;
        if (m.outbox.capacity() > 64) std::vector<Impl::Outgoing>().swap(m.outbox);
      }
      WriteLoop(self, m);
    });
  });
}

void Enqueue(const Self& self, Impl& m, std::string data, bool binary) {
  asio::post(m.strand, [self, &m, data = std::move(data), binary]() mutable {
    if (m.closed) return;
    m.outbox.push_back({std::move(data), binary});
    WriteLoop(self, m);
  });
}

void WsHandshake(const Self& self, Impl& m, const DoneFn& done) {
  m.WithWs([&](auto& ws) {
    if (m.options.permessage_deflate) {
      websocket::permessage_deflate pmd;
      pmd.client_enable = true;
      ws.set_option(pmd);
    }
    ws.read_message_max(kMaxMessageBytes);
    ws.write_buffer_bytes(kWriteBufferBytes);
    // Pings and pongs prove the peer alive as much as data frames do.
    ws.control_callback(
        [&m](websocket::frame_type, beast::string_view) { m.last_frame_ms = SteadyMs(); });
    ws.set_option(websocket::stream_base::decorator(
        [deflate = m.options.permessage_deflate](websocket::request_type& req) {
          req.set(beast::http::field::user_agent, "parley-client/1");
          // Offer as browsers do (Beast's own offer names both window sizes as 15): any
          // client window the server chooses, the server's window left to the server.
          if (deflate) {
            req.set(beast::http::field::sec_websocket_extensions,
                    "permessage-deflate; client_max_window_bits");
          }
        }));
    ws.async_handshake(m.url.HostHeader(), m.url.path, [self, &m, done](error_code ec) {
      if (ec || m.closing_by_us) return FailConnect(m, done, "handshake with", ec);
      Disarm(m);
      m.last_frame_ms = SteadyMs();
      m.is_open = true;
      ReadLoop(self, m);
      WriteLoop(self, m);  // raw frames queued while connecting
      (*done)(Status::Ok());
    });
  });
}

// After TCP connected: TLS first for wss://, then the WebSocket handshake.
void Handshake(const Self& self, Impl& m, const DoneFn& done) {
  error_code ignored;
  m.socket().set_option(tcp::no_delay(true), ignored);
  if (!m.tls) return WsHandshake(self, m, done);
  SSL* ssl = m.tls->next_layer().native_handle();
  if (Status st = PrepareClientSsl(ssl, m.url.host); !st.ok()) {
    m.closed = true;
    Disarm(m);
    CloseSocket(m);
    return (*done)(TransportError(st.message()));
  }
  m.tls->next_layer().async_handshake(
      asio::ssl::stream_base::client, [self, &m, done](error_code ec) {
        if (ec && !m.timed_out && !m.closing_by_us) {
          // Name the certificate problem rather than OpenSSL's generic "verify failed".
          const std::string why = VerifyFailure(m.tls->next_layer().native_handle());
          if (!why.empty()) {
            return FailConnect(
                m, done, "certificate of", ec,
                "rejected: " + why +
                    (m.options.ca_file.empty() ? " (trusted: the system CAs)"
                                               : " (trusted: " + m.options.ca_file + ")"));
          }
        }
        if (ec || m.closing_by_us) return FailConnect(m, done, "TLS handshake with", ec);
        WsHandshake(self, m, done);
      });
}

// Tries the resolved endpoints in turn (a name like "localhost" may give ::1 first while
// the server listens on 127.0.0.1 only).
void ConnectTo(const Self& self, Impl& m, std::shared_ptr<std::vector<tcp::endpoint>> endpoints,
               size_t index, const DoneFn& done, error_code last) {
  if (m.closing_by_us || m.timed_out || index >= endpoints->size()) {
    return FailConnect(m, done, "connect to", last);
  }
  const tcp::endpoint& endpoint = (*endpoints)[index];
  auto& sock = m.socket();
  error_code ec;
  if (sock.is_open()) sock.close(ec);
  sock.open(endpoint.protocol(), ec);
  if (!ec && !m.options.bind_address.empty()) {
    auto local = asio::ip::make_address(m.options.bind_address, ec);
    if (!ec && local.is_v4() != endpoint.address().is_v4()) {
      ec = asio::error::address_family_not_supported;
    }
    if (!ec) sock.bind(tcp::endpoint(local, 0), ec);
  }
  if (ec) return ConnectTo(self, m, endpoints, index + 1, done, ec);
  sock.async_connect(endpoint, [self, &m, endpoints, index, done](error_code cec) {
    if (cec) return ConnectTo(self, m, endpoints, index + 1, done, cec);
    Handshake(self, m, done);
  });
}

// The asio wrapper of the shared SSL_CTX for ca_file (asio frees the handle it owns, so it
// gets a reference of its own).
Result<std::shared_ptr<asio::ssl::context>> TlsContext(const std::string& ca_file) {
  PARLEY_ASSIGN_OR_RETURN(SSL_CTX * ctx, SharedClientContext(ca_file));
  return std::make_shared<asio::ssl::context>(ctx);
}

}  // namespace

std::shared_ptr<Connection> Connection::Create(EventLoop& loop, ConnectOptions options) {
  return std::shared_ptr<Connection>(
      new Connection(std::make_unique<Impl>(loop, std::move(options))));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

void Connection::SetPushHandler(FrameHandler h) { impl_->on_push = std::move(h); }
void Connection::SetRawFrameHandler(FrameHandler h) { impl_->on_raw = std::move(h); }
void Connection::SetCloseHandler(CloseHandler h) { impl_->on_close = std::move(h); }
bool Connection::open() const { return impl_->is_open && !impl_->closed; }
int64_t Connection::last_frame_ms() const { return impl_->last_frame_ms.load(); }

void Connection::Connect(std::function<void(Status)> done_fn) {
  auto self = shared_from_this();
  Impl& m = *impl_;
  auto done = std::make_shared<std::function<void(Status)>>(std::move(done_fn));
  asio::post(m.strand, [self, &m, done] {
    auto url = ParseUrl(m.options.url);
    if (!url.ok()) {
      m.closed = true;
      return (*done)(url.status());
    }
    m.url = std::move(url).value();
    if (m.url.tls) {
      auto ctx = TlsContext(m.options.ca_file);
      if (!ctx.ok()) {
        m.closed = true;
        return (*done)(ctx.status());
      }
      m.tls_context = std::move(ctx).value();
      m.plain.reset();
      m.tls.emplace(m.strand, *m.tls_context);
    }
    Arm(self, m, m.options.connect_timeout_ms);
    error_code ec;
    auto address = asio::ip::make_address(m.url.host, ec);
    if (!ec) {  // an IP literal: no resolver needed
      auto endpoints =
          std::make_shared<std::vector<tcp::endpoint>>(1, tcp::endpoint(address, m.url.port));
      return ConnectTo(self, m, endpoints, 0, done, {});
    }
    m.resolver = std::make_shared<tcp::resolver>(m.strand);
    m.resolver->async_resolve(
        m.url.host, std::to_string(m.url.port),
        [self, &m, done](error_code rec, const tcp::resolver::results_type& results) {
          m.resolver.reset();
          if (rec) return FailConnect(m, done, "resolve", rec);
          auto endpoints = std::make_shared<std::vector<tcp::endpoint>>();
          for (const auto& r : results) endpoints->push_back(r.endpoint());
          ConnectTo(self, m, endpoints, 0, done, asio::error::host_not_found);
        });
  });
}

void Connection::Call(std::string_view op, const std::function<void(JsonWriter&)>& fields,
                      ReplyHandler done) {
  auto self = shared_from_this();
  Impl& m = *impl_;
  JsonWriter w;
  w.BeginObject().Key("op").String(op);
  if (fields) fields(w);
  std::string body = w.Take();  // the id and the closing brace are added on the strand
  asio::post(m.strand, [self, &m, body = std::move(body), done = std::move(done)]() mutable {
    if (m.closed || !m.is_open) return done(TransportError("not connected"), -1);
    const uint64_t id = ++m.next_id;
    body += ",\"id\":";
    body += std::to_string(id);
    body += '}';
    m.pending.emplace(id, std::move(done));
    m.outbox.push_back({std::move(body), false});
    WriteLoop(self, m);
  });
}

void Connection::SendRaw(std::string text) {
  Enqueue(shared_from_this(), *impl_, std::move(text), false);
}

void Connection::SendBinary(std::string bytes) {
  Enqueue(shared_from_this(), *impl_, std::move(bytes), true);
}

void Connection::Close() {
  auto self = shared_from_this();
  Impl& m = *impl_;
  asio::post(m.strand, [self, &m] {
    if (m.closed || m.closing_by_us) return;
    m.closing_by_us = true;
    if (!m.is_open) {  // still connecting: the connect fails and reports it
      if (m.resolver) m.resolver->cancel();
      CloseSocket(m);
      return;
    }
    // A server that never answers the close frame must not keep us forever.
    Arm(self, m, m.options.connect_timeout_ms);
    m.WithWs([&](auto& ws) {
      ws.async_close(websocket::close_code::normal,
                     [self, &m](error_code) { Shut(m, Status::Ok(), 1000); });
    });
  });
}

void Connection::Abort() {
  auto self = shared_from_this();
  Impl& m = *impl_;
  asio::post(m.strand, [self, &m] {
    if (m.closed) return;
    m.closing_by_us = true;
    m.aborted = true;
    if (m.resolver) m.resolver->cancel();
    CloseSocket(m);  // the pending read (or connect) fails and shuts the connection
  });
}

}  // namespace parley::client
