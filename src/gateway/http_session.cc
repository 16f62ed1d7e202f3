#include "gateway/http_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "gateway/client_address.h"
#include "gateway/connection_errors.h"
#include "gateway/server_stream.h"
#include "gateway/ws_session.h"

namespace parley {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxHttpRequestBytes = 16 * 1024;
constexpr size_t kBodyReadBytes = 64 * 1024;  // per read of a request body

using Request = http::request<http::string_body>;

// The parts of a request its response depends on, kept while a handler works.
struct ResponseShape {
  unsigned version = 11;
  bool keep_alive = false;
  bool head = false;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(ServerStream stream, GatewayContext& ctx, const RouteTable& routes,
              ConnectionSlot slot, bool on_admin_listener)
      : stream_(std::move(stream)),
        ctx_(ctx),
        routes_(routes),
        slot_(std::move(slot)),
        on_admin_listener_(on_admin_listener) {}

  void Start() {
    beast::error_code ec;
    auto peer = stream_.tcp().socket().remote_endpoint(ec);
    if (!ec) {
      peer_address_ = peer.address();
      peer_ip_ = peer_address_.to_string();
      from_trusted_proxy_ = !on_admin_listener_ && ctx_.trusted_proxies.Trusts(peer_address_);
    }
    stream_.tcp().expires_after(Timeout());
    stream_.async_handshake([self = shared_from_this()](beast::error_code hs_ec) {
      // Not TLS, a refused certificate, or too slow.
      if (hs_ec) return self->Fail(hs_ec, ConnectionStep::kTlsHandshake);
      self->Read();
    });
  }

 private:
  std::chrono::milliseconds Timeout() const {
    return std::chrono::milliseconds(ctx_.config.http_idle_timeout_ms);
  }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHttpRequestBytes);
    // No limit while the header is read (Beast would refuse a Content-Length over it
    // before the route is known); OnHeader sets the route's.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // From now until the whole request is in (an idle keep-alive connection included).
    stream_.tcp().expires_after(Timeout());
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // The headers are in: the route decides how large a body may follow (an attachment
  // part), and a client waiting for "100 Continue" gets it — or the refusal at once.
  void OnHeader(beast::error_code ec) {
    if (ec) return Fail(ec, ConnectionStep::kHttpRead);
    const auto& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view method(req.method_string().data(), req.method_string().size());
    const RouteTable::Match match =
        routes_.Find(method, target.substr(0, target.find('?')), on_admin_listener_);
    const size_t limit = match.route ? match.route->max_body_bytes : Route::kDefaultMaxBodyBytes;
    parser_->body_limit(limit);
    body_limit_ = limit;
    if (parser_->content_length() && *parser_->content_length() > limit) {
      return RefuseTooLarge(ResponseShape{req.version(), false, false}, limit);
    }
    if (parser_->is_done()) return OnRead({});
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code wec, size_t) {
                          if (wec) return self->Fail(wec, ConnectionStep::kHttpWrite);
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    // Beast reads at most what the buffer can take without growing (its capacity less
    // what it holds, at least 512 bytes, at most 64 KiB): after a small header that is a
    // few hundred bytes per system call, 10x slower than the network for a large body.
    if (buffer_.capacity() < kBodyReadBytes) buffer_.reserve(kBodyReadBytes);
    // A large body (an attachment part) gets time to arrive at a modest pace, 64 KiB/s,
    // on top of the idle timeout; a client slower than that is cut off.
    if (auto length = parser_->content_length(); length && *length > Route::kDefaultMaxBodyBytes) {
      stream_.tcp().expires_after(Timeout() + std::chrono::seconds(*length / (64 * 1024)));
    }
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // The body is over the route's limit: answered, then the connection closed once the
  // client stopped sending (a lingering close, bounded in bytes and time) — closed at
  // once, the client would see its send fail before it reads the 413.
  void RefuseTooLarge(const ResponseShape& shape, size_t limit) {
    drain_before_close_ = true;
    RouteReply reply{
        413,
        "{\"error\":\"too_large\",\"message\":\"the request body is over the limit of " +
            std::to_string(limit) + " bytes\"}\n",
        "application/json"};
    Respond(shape, std::move(reply));
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      const auto& head = parser_->get();
      return RefuseTooLarge(ResponseShape{head.version(), false, false}, body_limit_);
    }
    if (ec) return Fail(ec, ConnectionStep::kHttpRead);
    ++requests_;
    Request req = parser_->release();
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const std::string_view method(req.method_string().data(), req.method_string().size());
    const ResponseShape shape{req.version(), req.keep_alive(), req.method() == http::verb::head};
    const RouteTable::Match match = routes_.Find(method, path, on_admin_listener_);
    if (beast::websocket::is_upgrade(req)) {
      if (!match.route || !match.route->websocket) {
        return Respond(shape, {404, "no such endpoint\n"});
      }
      return Upgrade(std::move(req), shape);
    }
    if (!match.route) return Respond(shape, {match.status, match.error});
    if (match.route->websocket) return Respond(shape, {426, "WebSocket upgrade required\n"});
    RouteRequest route_req{std::string(method),   std::string(target),
                           std::string(path),     std::string(req[http::field::authorization]),
                           std::move(req.body()), {}};
    for (const auto& field : req) {
      route_req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    // The reply may come from another thread (an admin job): it is posted back here,
    // where Respond gives its write a deadline of its own.
    match.route->handler(std::move(route_req), [self = shared_from_this(), shape](RouteReply r) {
      asio::post(self->stream_.get_executor(),
                 [self, shape, r = std::move(r)]() mutable { self->Respond(shape, std::move(r)); });
    });
  }

  void Upgrade(Request req, const ResponseShape& shape) {
    if (!OriginAllowed(req)) {
      spdlog::info(
          "refused a WebSocket upgrade from {} with Origin '{}' (not in "
          "server.allowed_origins)",
          peer_ip_, std::string(req[http::field::origin]));
      return Respond(shape, {403, "origin not allowed\n"});
    }
    // The connection and its slot now belong to the WebSocket session, which has its own
    // timeouts.
    std::string client_ip;
    if (from_trusted_proxy_) {
      // Admitted without a per-address check at accept: the check happens here, under
      // the client's address. No usable X-Forwarded-For: the proxy's own address.
      auto client = ctx_.trusted_proxies.ClientOf(ForwardedFor(req));
      if (client) client_ip = client->to_string();
      const std::string key = client ? AddressKey(*client) : AddressKey(peer_address_);
      AddressAdmission admission = AdmitAddress(ctx_, key);
      if (!admission.admitted) {
        ctx_.metrics->connections_refused.Inc();
        RouteReply busy{429, "too many connections from your address\n"};
        busy.retry_after_s = std::max<int64_t>(1, admission.retry_after_s);
        return Respond(ResponseShape{shape.version, false, false}, std::move(busy));
      }
      slot_.AdoptAddressKey(key);
    }
    stream_.tcp().expires_never();
    auto ws = std::make_shared<WsSession>(std::move(stream_), ctx_, std::move(slot_));
    ws->Start(std::move(req), std::move(client_ip));
  }

  // Every X-Forwarded-For header of the request, joined as one list.
  static std::string ForwardedFor(const Request& req) {
    std::string joined;
    // equal_range: repeated headers need not be adjacent in the request.
    auto [begin, end] = req.equal_range("X-Forwarded-For");
    for (auto it = begin; it != end; ++it) {
      if (!joined.empty()) joined += ',';
      joined.append(it->value().data(), it->value().size());
    }
    return joined;
  }

  // A browser always sends Origin; other clients usually do not, and are not at risk of
  // cross-site use of a user's credentials. A page of this server itself (the web client
  // at /app/) is same-origin: its Origin names the host the request is addressed to.
  bool OriginAllowed(const Request& req) const {
    auto it = req.find(http::field::origin);
    if (it == req.end()) return true;
    const beast::string_view origin = it->value();
    if (SameOrigin(origin, req[http::field::host])) return true;
    for (const std::string& allowed : ctx_.config.allowed_origins) {
      if (allowed == "*" || beast::iequals(allowed, origin)) return true;
    }
    return false;
  }

  // "http://HOST" or "https://HOST" whose HOST is the request's Host header.
  static bool SameOrigin(beast::string_view origin, beast::string_view host) {
    if (host.empty()) return false;
    for (beast::string_view scheme :
         {beast::string_view("http://"), beast::string_view("https://")}) {
      if (origin.size() > scheme.size() &&
          beast::iequals(origin.substr(0, scheme.size()), scheme)) {
        return beast::iequals(origin.substr(scheme.size()), host);
      }
    }
    return false;
  }

  template <class Message>
  void SetHeaders(Message& res, const RouteReply& reply) {
    res.set(http::field::server, "parleyd/" PARLEY_VERSION);
    res.set(http::field::content_type, reply.content_type);
    if (reply.retry_after_s > 0)
      res.set(http::field::retry_after, std::to_string(reply.retry_after_s));
    for (const auto& [name, value] : reply.headers) res.insert(name, value);
  }

  void Respond(const ResponseShape& shape, RouteReply reply) {
    if (reply.stream && !shape.head) return RespondStream(shape, std::move(reply));
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), shape.version);
    SetHeaders(*res, reply);
    res->keep_alive(shape.keep_alive && requests_ < ctx_.config.http_max_requests_per_conn);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    if (reply.stream) res->content_length(reply.stream->length);  // HEAD of a download
    if (shape.head) res->body().clear();
    // A client that stops reading (pipelined requests never read) loses the connection.
    stream_.tcp().expires_after(Timeout());
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return self->Fail(ec, ConnectionStep::kHttpWrite);
                        if (self->drain_before_close_) return self->DrainThenClose(0);
                        if (!res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  // Reads and drops what the client still sends, up to 64 MiB and 5 s, then closes.
  void DrainThenClose(size_t drained) {
    constexpr size_t kMaxDrainBytes = 64u << 20;
    if (drained == 0) {
      stream_.tcp().expires_after(std::chrono::seconds(5));
      beast::error_code ignored;
      stream_.tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    if (drained >= kMaxDrainBytes) return Close();
    drain_.resize(64 * 1024);
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->DrainThenClose(drained + n);
                            });
  }

  // A body read piece by piece from reply.stream (Beast's buffer_body): the header, then
  // one piece per write, each with a deadline. A source failing midway can only cut the
  // connection (the status is sent): the client sees a short body.
  void RespondStream(const ResponseShape& shape, RouteReply reply) {
    auto out = std::make_shared<Streaming>();
    out->source = std::move(reply.stream);
    out->res.result(static_cast<http::status>(reply.status));
    out->res.version(shape.version);
    SetHeaders(out->res, reply);
    out->res.keep_alive(shape.keep_alive && requests_ < ctx_.config.http_max_requests_per_conn);
    out->res.content_length(out->source->length);
    out->res.body().data = nullptr;
    out->res.body().more = true;
    out->serializer.emplace(out->res);
    stream_.tcp().expires_after(Timeout());
    http::async_write_header(stream_, *out->serializer,
                             [self = shared_from_this(), out](beast::error_code ec, size_t) {
                               if (ec) return self->Fail(ec, ConnectionStep::kHttpWrite);
                               self->WritePiece(out);
                             });
  }

  struct Streaming {
    std::shared_ptr<BodySource> source;
    http::response<http::buffer_body> res;
    std::optional<http::response_serializer<http::buffer_body>> serializer;
    std::string piece;
    uint64_t sent = 0;
  };

  void WritePiece(const std::shared_ptr<Streaming>& out) {
    constexpr size_t kPieceBytes = 1 << 20;
    const uint64_t left = out->source->length - out->sent;
    if (left == 0) {
      out->res.body().data = nullptr;
      out->res.body().more = false;
    } else {
      auto piece =
          out->source->read(out->sent, static_cast<size_t>(std::min<uint64_t>(left, kPieceBytes)));
      if (!piece.ok() || piece->empty() || piece->size() > left) {
        spdlog::warn("a download from {} stopped after {} of {} bytes: {}", peer_ip_, out->sent,
                     out->source->length,
                     piece.ok() ? std::string("a bad piece") : piece.status().ToString());
        return Close();
      }
      out->piece = std::move(*piece);
      out->res.body().data = out->piece.data();
      out->res.body().size = out->piece.size();
      out->res.body().more = true;
    }
    stream_.tcp().expires_after(Timeout());
    http::async_write(stream_, *out->serializer,
                      [self = shared_from_this(), out, left](beast::error_code ec, size_t) {
                        if (ec == http::error::need_buffer) ec = {};
                        if (ec) return self->Fail(ec, ConnectionStep::kHttpWrite);
                        if (left > 0) {
                          out->sent += out->piece.size();
                          return self->WritePiece(out);
                        }
                        if (!out->res.keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  // Beast's fail(): an unexpected error is counted and logged; the connection ends either
  // way.
  void Fail(beast::error_code ec, ConnectionStep step) {
    ReportConnectionError(*ctx_.metrics, step, ec, peer_ip_);
    Close();
  }

  void Close() {
    beast::error_code ignored;
    stream_.tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.tcp().close();
  }

  ServerStream stream_;
  GatewayContext& ctx_;
  const RouteTable& routes_;
  ConnectionSlot slot_;
  const bool on_admin_listener_;
  std::string peer_ip_;
  boost::asio::ip::address peer_address_;
  bool from_trusted_proxy_ = false;  // admitted at accept without a per-address check
  size_t requests_ = 0;
  size_t body_limit_ = Route::kDefaultMaxBodyBytes;  // of the request being read
  bool drain_before_close_ = false;  // a refused body: read what is still coming, then close
  std::vector<char> drain_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void StartHttpSession(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                      GatewayContext& ctx, const RouteTable& routes, ConnectionSlot slot,
                      bool on_admin_listener) {
  beast::tcp_stream tcp_stream(std::move(socket));
  ServerStream stream = tls ? ServerStream(std::move(tcp_stream), std::move(tls))
                            : ServerStream(std::move(tcp_stream));
  std::make_shared<HttpSession>(std::move(stream), ctx, routes, std::move(slot), on_admin_listener)
      ->Start();
}

}  // namespace parley
