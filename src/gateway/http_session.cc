#include "gateway/http_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <optional>

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
    parser_->body_limit(kMaxHttpRequestBytes);
    // From now until the whole request is in (an idle keep-alive connection included).
    stream_.tcp().expires_after(Timeout());
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
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
    RouteRequest route_req{std::string(method), std::string(target), std::string(path),
                           std::string(req[http::field::authorization]), std::move(req.body())};
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
  // cross-site use of a user's credentials.
  bool OriginAllowed(const Request& req) const {
    auto it = req.find(http::field::origin);
    if (it == req.end()) return true;
    const beast::string_view origin = it->value();
    for (const std::string& allowed : ctx_.config.allowed_origins) {
      if (allowed == "*" || beast::iequals(allowed, origin)) return true;
    }
    return false;
  }

  void Respond(const ResponseShape& shape, RouteReply reply) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), shape.version);
    res->set(http::field::server, "parleyd/" PARLEY_VERSION);
    res->set(http::field::content_type, reply.content_type);
    if (reply.retry_after_s > 0)
      res->set(http::field::retry_after, std::to_string(reply.retry_after_s));
    res->keep_alive(shape.keep_alive && requests_ < ctx_.config.http_max_requests_per_conn);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    if (shape.head) res->body().clear();
    // A client that stops reading (pipelined requests never read) loses the connection.
    stream_.tcp().expires_after(Timeout());
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return self->Fail(ec, ConnectionStep::kHttpWrite);
                        if (!res->keep_alive()) return self->Close();
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
