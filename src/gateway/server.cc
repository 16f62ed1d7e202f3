#include "gateway/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

#include "common/clock.h"
#include "common/files.h"
#include "common/hash_pool.h"
#include "common/worker_pool.h"
#include "gateway/connection_slot.h"
#include "gateway/dispatcher.h"
#include "gateway/gateway_context.h"
#include "gateway/server_stream.h"
#include "gateway/ws_session.h"

namespace parley {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// File descriptors kept back from client connections for the store, logs and the reserve.
constexpr size_t kReservedFds = 256;
constexpr size_t kMaxHttpRequestBytes = 16 * 1024;
// Connections the admin listener holds at once (it has its own budget, outside
// max_connections, so that operators are not locked out by a full main listener).
constexpr size_t kMaxAdminConnections = 64;

// One HTTP connection (plain or TLS): health, readiness, metrics, admin, or the upgrade
// to /ws. Every wait has a deadline (http_idle_timeout_ms): the TLS handshake, each
// request, each response; a connection serves at most http_max_requests_per_conn.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(ServerStream stream, GatewayContext& ctx, metrics::Registry& registry,
              const std::atomic<bool>& ready, ConnectionSlot slot, bool admin_listener)
      : stream_(std::move(stream)),
        ctx_(ctx),
        registry_(registry),
        ready_(ready),
        slot_(std::move(slot)),
        admin_listener_(admin_listener) {}

  void Start() {
    beast::error_code ec;
    auto peer = stream_.tcp().socket().remote_endpoint(ec);
    if (!ec) peer_ip_ = peer.address().to_string();
    stream_.tcp().expires_after(Timeout());
    stream_.async_handshake([self = shared_from_this()](beast::error_code hs_ec) {
      if (hs_ec) return self->Close();  // not TLS, a refused certificate, or too slow
      self->Read();
    });
  }

 private:
  std::chrono::milliseconds Timeout() const {
    return std::chrono::milliseconds(ctx_.config.http_idle_timeout_ms);
  }
  // /admin/* and /metrics: on the admin listener if there is one, else on the main one.
  bool ServesAdmin() const { return admin_listener_ || ctx_.config.admin_listen_port == 0; }

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
    if (ec) return Close();
    ++requests_;
    http::request<http::string_body> req = parser_->release();
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (beast::websocket::is_upgrade(req)) {
      if (admin_listener_ || path != "/ws") {
        return Respond(req, http::status::not_found, "no such endpoint\n");
      }
      if (!OriginAllowed(req)) {
        spdlog::info(
            "refused a WebSocket upgrade from {} with Origin '{}' (not in "
            "server.allowed_origins)",
            peer_ip_, std::string(req[http::field::origin]));
        return Respond(req, http::status::forbidden, "origin not allowed\n");
      }
      // The connection and its slot now belong to the WebSocket session, which has its
      // own timeouts.
      stream_.tcp().expires_never();
      auto ws = std::make_shared<WsSession>(std::move(stream_), ctx_, std::move(slot_));
      ws->Start(std::move(req));
      return;
    }
    if (path.starts_with("/admin/")) {
      if (!ServesAdmin()) return Respond(req, http::status::not_found, "no such endpoint\n");
      return Admin(std::move(req));
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return Respond(req, http::status::method_not_allowed, "GET only\n");
    }
    if (path == "/healthz") return Respond(req, http::status::ok, "ok\n");
    if (path == "/readyz") {
      bool ok = ready_.load(std::memory_order_relaxed);
      return Respond(req, ok ? http::status::ok : http::status::service_unavailable,
                     ok ? "ready\n" : "not ready\n");
    }
    if (path == "/metrics" && ServesAdmin()) {
      return Respond(req, http::status::ok, registry_.RenderPrometheus(),
                     "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/ws" && !admin_listener_) {
      return Respond(req, http::status::upgrade_required, "WebSocket upgrade required\n");
    }
    Respond(req, http::status::not_found, "no such endpoint\n");
  }

  // A browser always sends Origin; other clients usually do not, and are not at risk of
  // cross-site use of a user's credentials.
  bool OriginAllowed(const http::request<http::string_body>& req) const {
    auto it = req.find(http::field::origin);
    if (it == req.end()) return true;
    const beast::string_view origin = it->value();
    for (const std::string& allowed : ctx_.config.allowed_origins) {
      if (allowed == "*" || beast::iequals(allowed, origin)) return true;
    }
    return false;
  }

  // Admin requests may take minutes (a backup): nothing is read while one runs (no socket
  // operation is pending, so no timer runs), and the answer comes back to this
  // connection's thread, where Respond gives its write a deadline of its own.
  void Admin(http::request<http::string_body> req) {
    if (!ctx_.admin) return Respond(req, http::status::not_found, "no such endpoint\n");
    auto shared_req = std::make_shared<http::request<http::string_body>>(std::move(req));
    auto self = shared_from_this();
    ctx_.admin(std::string(shared_req->method_string()), std::string(shared_req->target()),
               std::string((*shared_req)[http::field::authorization]), shared_req->body(),
               [self, shared_req](int status, std::string body) {
                 asio::post(self->stream_.get_executor(),
                            [self, shared_req, status, body = std::move(body)]() mutable {
                              self->Respond(*shared_req, static_cast<http::status>(status),
                                            std::move(body), "application/json");
                            });
               });
  }

  void Respond(const http::request<http::string_body>& req, http::status status, std::string body,
               const char* content_type = "text/plain; charset=utf-8") {
    auto res = std::make_shared<http::response<http::string_body>>(status, req.version());
    res->set(http::field::server, "parleyd/" PARLEY_VERSION);
    res->set(http::field::content_type, content_type);
    res->keep_alive(req.keep_alive() && requests_ < ctx_.config.http_max_requests_per_conn);
    res->body() = std::move(body);
    res->prepare_payload();
    if (req.method() == http::verb::head) res->body().clear();
    // A client that stops reading (pipelined requests never read) loses the connection.
    stream_.tcp().expires_after(Timeout());
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.tcp().close();
  }

  ServerStream stream_;
  GatewayContext& ctx_;
  metrics::Registry& registry_;
  const std::atomic<bool>& ready_;
  ConnectionSlot slot_;
  const bool admin_listener_;
  std::string peer_ip_;
  size_t requests_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

// The key of per-address limits: an IPv4 address, or the /64 network of an IPv6 one (one
// subscriber usually has a whole /64, so single IPv6 addresses would be free to change).
std::string AddressKey(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  if (address.is_v4()) return address.to_string();
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

// Loads a certificate chain and its private key (PEM) into a new TLS server context.
Result<std::shared_ptr<asio::ssl::context>> LoadTlsContext(const std::string& cert_file,
                                                           const std::string& key_file) {
  PARLEY_RETURN_IF_ERROR(CheckSecretFile(key_file, "TLS key file (tls.key_file)"));
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return Status(Code::kInvalidArgument,
                  "cannot load TLS certificate " + cert_file + ": " + ec.message());
  }
  ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return Status(Code::kInvalidArgument, "cannot load TLS key " + key_file + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status(Code::kInvalidArgument,
                  "TLS key " + key_file + " does not match the certificate " + cert_file);
  }
  return ctx;
}

size_t FdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return rl.rlim_cur;
}

// Raises the soft open-file limit to the hard one: every connection is a descriptor.
void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

struct Server::Impl {
  Impl(const GatewayConfig& c, CoreApi& core, Hub& hub, metrics::Registry& reg,
       search::SearchService* search)
      : config(c),
        registry(reg),
        metrics(reg),
        workers(std::make_unique<WorkerPool>(
            c.worker_threads ? c.worker_threads
                             : std::max(2u, std::thread::hardware_concurrency()))),
        hashers(std::make_unique<HashPool>(
            c.hash_threads ? c.hash_threads : std::max(1u, std::thread::hardware_concurrency() / 2),
            c.hash_queue)),
        dispatcher(core, hub, c, metrics, *workers, *hashers, search),
        address_limits(c.max_connections_per_ip, c.handshake_rate_per_ip,
                       c.handshake_burst_per_ip) {
    ctx.config = c;
    ctx.dispatcher = &dispatcher;
    ctx.metrics = &metrics;
    ctx.address_limits = &address_limits;
    size_t n = c.io_threads ? c.io_threads : std::max(1u, std::thread::hardware_concurrency());
    for (size_t i = 0; i < n; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*ios[0]);
    if (c.admin_listen_port != 0) admin_acceptor.emplace(*ios[0]);
  }

  Status Listen() {
    if (!config.tls_cert_file.empty() || !config.tls_key_file.empty()) {
      PARLEY_ASSIGN_OR_RETURN(tls, LoadTlsContext(config.tls_cert_file, config.tls_key_file));
    }
    PARLEY_RETURN_IF_ERROR(Bind(*acceptor, config.listen_host, config.listen_port));
    if (admin_acceptor) {
      PARLEY_RETURN_IF_ERROR(
          Bind(*admin_acceptor, config.admin_listen_host, config.admin_listen_port));
    }
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    size_t fds = FdLimit();
    max_connections = config.max_connections;
    if (fds != SIZE_MAX && fds > kReservedFds)
      max_connections = std::min(max_connections, fds - kReservedFds);
    spdlog::info(
        "listening on {}:{} ({}, ws path /ws); {} network threads; max {} connections "
        "(open-file limit {}), {} per client address",
        config.listen_host, port(), tls ? "TLS" : "plain TCP", ios.size(), max_connections, fds,
        config.max_connections_per_ip);
    if (admin_acceptor) {
      spdlog::info("admin listener on {}:{} (plain HTTP: /admin/*, /metrics, /healthz, /readyz)",
                   config.admin_listen_host, admin_acceptor->local_endpoint().port());
    }
    return Status::Ok();
  }

  Status Bind(tcp::acceptor& a, const std::string& host, uint16_t port_number) {
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(*ios[0]);
      auto results = resolver.resolve(host, std::to_string(port_number), ec);
      if (ec || results.empty()) {
        return Status(Code::kInvalidArgument, "cannot resolve listen host " + host);
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, port_number);
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(Code::kUnavailable, "cannot listen on " + host + ":" +
                                            std::to_string(port_number) + ": " + ec.message());
    }
    a.non_blocking(true, ec);
    return Status::Ok();
  }

  uint16_t port() const {
    beast::error_code ec;
    auto ep = acceptor->local_endpoint(ec);
    return ec ? 0 : ep.port();
  }

  std::shared_ptr<asio::ssl::context> CurrentTls() {
    std::lock_guard<std::mutex> lock(tls_mu);
    return tls;
  }

  Status ReloadTls() {
    if (config.tls_cert_file.empty()) return Status::Ok();
    auto loaded = LoadTlsContext(config.tls_cert_file, config.tls_key_file);
    if (!loaded.ok()) return loaded.status();
    std::lock_guard<std::mutex> lock(tls_mu);
    tls = std::move(*loaded);
    return Status::Ok();
  }

  void Accept(tcp::acceptor& a, bool admin) {
    asio::io_context& target = *ios[next_io++ % ios.size()];
    a.async_accept(target, [this, &a, admin](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !a.is_open()) return;
      if (ec) {
        OnAcceptError(a, ec);
      } else {
        OnAccepted(std::move(socket), admin);
      }
      Accept(a, admin);
    });
  }

  void OnAccepted(tcp::socket socket, bool admin) {
    ConnectionSlot slot;
    if (admin) {
      // Its own small budget: an operator can scrape and administer while the main
      // listener is full.
      if (ctx.admin_connections.load(std::memory_order_relaxed) >= kMaxAdminConnections) {
        return Turn(std::move(socket), "admin listener connections", kBusy, false);
      }
      slot = ConnectionSlot(&ctx, "", true);
    } else {
      if (ctx.open_connections.load(std::memory_order_relaxed) >= max_connections) {
        return Turn(std::move(socket), "max_connections reached", kBusy, tls != nullptr);
      }
      beast::error_code ec;
      auto peer = socket.remote_endpoint(ec);
      if (ec) return;  // already gone
      std::string key = AddressKey(peer.address());
      auto admission = address_limits.TryOpen(key, MonotonicNanos() / 1000);
      if (admission.verdict == AddressLimits::Verdict::kTooManyOpen) {
        return Turn(std::move(socket), "limits.max_connections_per_ip reached by a client",
                    TooMany(5), tls != nullptr);
      }
      if (admission.verdict == AddressLimits::Verdict::kTooFast) {
        return Turn(std::move(socket), "limits.handshake_rate_per_ip exceeded by a client",
                    TooMany((admission.retry_after_us + 999'999) / 1'000'000), tls != nullptr);
      }
      slot = ConnectionSlot(&ctx, std::move(key), false);
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Start on the connection's own thread.
    auto executor = socket.get_executor();
    beast::tcp_stream tcp_stream(std::move(socket));
    auto server_tls = admin ? nullptr : CurrentTls();
    ServerStream stream = server_tls ? ServerStream(std::move(tcp_stream), std::move(server_tls))
                                     : ServerStream(std::move(tcp_stream));
    auto session = std::make_shared<HttpSession>(std::move(stream), ctx, registry, ready,
                                                 std::move(slot), admin);
    asio::post(executor, [session] { session->Start(); });
  }

  static constexpr char kBusy[] =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\n"
      "Connection: close\r\n\r\n";
  static std::string TooMany(int64_t retry_after_s) {
    return "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nRetry-After: " +
           std::to_string(std::max<int64_t>(1, retry_after_s)) + "\r\nConnection: close\r\n\r\n";
  }

  // Refuses a connection at once with `response` (plain HTTP; a TLS client would not
  // understand it, so it is just closed).
  void Turn(tcp::socket socket, const char* why, std::string_view response, bool tls_listener) {
    Refuse(why);
    beast::error_code ignored;
    if (!tls_listener) {
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(response.data(), response.size()), ignored);
    }
    socket.close(ignored);
  }

  // Out of file descriptors: the pending connection would wait in the kernel backlog
  // until the client gives up. Use the reserve descriptor to accept and close it at once.
  void OnAcceptError(tcp::acceptor& a, const beast::error_code& ec) {
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
      if (reserve_fd >= 0) ::close(reserve_fd);
      int fd = ::accept(a.native_handle(), nullptr, nullptr);
      if (fd >= 0) ::close(fd);
      reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      Refuse("out of file descriptors (open-file limit reached)");
      return;
    }
    spdlog::warn("accept failed: {}", ec.message());
  }

  void Refuse(const char* why) {
    metrics.connections_refused.Inc();
    auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log > std::chrono::seconds(5)) {
      last_refusal_log = now;
      spdlog::warn("refusing new connections: {} ({} open; refused so far: {})", why,
                   ctx.open_connections.load(), metrics.connections_refused.value());
    }
  }

  GatewayConfig config;
  metrics::Registry& registry;
  GatewayMetrics metrics;
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<HashPool> hashers;
  Dispatcher dispatcher;
  AddressLimits address_limits;
  GatewayContext ctx;
  std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls;  // null: plain TCP. Guarded by tls_mu.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::thread> threads;
  std::optional<tcp::acceptor> acceptor;
  std::optional<tcp::acceptor> admin_acceptor;
  size_t next_io = 0;
  size_t max_connections = 0;
  int reserve_fd = -1;
  std::chrono::steady_clock::time_point last_refusal_log{};
  std::atomic<bool> ready{false};
  bool stopped = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::Start(const GatewayConfig& config, CoreApi& core, Hub& hub,
                                              metrics::Registry& registry,
                                              search::SearchService* search, AdminHandler admin) {
  RaiseFdLimit();
  auto impl = std::make_unique<Impl>(config, core, hub, registry, search);
  impl->ctx.admin = std::move(admin);
  PARLEY_RETURN_IF_ERROR(impl->Listen());
  Impl* raw = impl.get();
  registry.gauge_fn("parley_sessions_authenticated", "Authenticated WebSocket sessions.",
                    [&hub] { return static_cast<double>(hub.sessions()); });
  registry.gauge_fn("parley_users_online", "Users with at least one authenticated session.",
                    [&hub] { return static_cast<double>(hub.online_users()); });
  registry.gauge_fn("parley_events_pushed_total", "Event frames handed to sessions (counter).",
                    [&hub] { return static_cast<double>(hub.frames_pushed()); });
  registry.gauge_fn("parley_worker_queue", "Jobs waiting for a worker thread.", [raw] {
    return raw->workers ? static_cast<double>(raw->workers->queued()) : 0.0;
  });
  registry.gauge_fn("parley_hash_queue", "Password checks waiting for a hashing thread.", [raw] {
    return raw->hashers ? static_cast<double>(raw->hashers->queued()) : 0.0;
  });
  registry.gauge_fn(
      "parley_hash_rejected_total",
      "Password operations refused with `unavailable`: the hash queue was full (counter).",
      [raw] { return raw->hashers ? static_cast<double>(raw->hashers->rejected()) : 0.0; });
  std::unique_ptr<Server> server(new Server(std::move(impl)));
  raw->Accept(*raw->acceptor, false);
  if (raw->admin_acceptor) raw->Accept(*raw->admin_acceptor, true);
  for (auto& io : raw->ios) {
    raw->threads.emplace_back([io = io.get()] {
      auto guard = asio::make_work_guard(*io);
      io->run();
    });
  }
  raw->ready = true;
  return server;
}

uint16_t Server::port() const { return impl_->port(); }

uint16_t Server::admin_port() const {
  if (!impl_->admin_acceptor) return 0;
  beast::error_code ec;
  auto ep = impl_->admin_acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

Status Server::ReloadTls() { return impl_->ReloadTls(); }

void Server::Shutdown(std::chrono::milliseconds drain) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  m.ready = false;
  asio::post(*m.ios[0], [&m] {
    beast::error_code ignored;
    m.acceptor->close(ignored);
    if (m.admin_acceptor) m.admin_acceptor->close(ignored);
  });
  m.dispatcher.SetDraining();
  // Answer what was already read (sends in the sequencer finish their commit).
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (m.ctx.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<std::shared_ptr<WsSession>> sessions;
  {
    std::lock_guard<std::mutex> lock(m.ctx.sessions_mu);
    for (auto& [id, weak] : m.ctx.sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  spdlog::info("closing {} client connections (1001 going away)", sessions.size());
  for (auto& s : sessions) s->CloseWith(1001, "server shutting down");
  sessions.clear();
  // Give the close handshakes a moment, then stop the threads regardless.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (m.ctx.open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Blocking jobs finish first (their replies go nowhere now), then the network threads.
  m.hashers.reset();  // a login's token commit goes on to the worker pool: hashers first
  m.workers.reset();
  for (auto& io : m.ios) io->stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  // With every thread stopped, sessions that did not finish their close leave the hub here.
  std::lock_guard<std::mutex> lock(m.ctx.sessions_mu);
  for (auto& [id, weak] : m.ctx.sessions) {
    if (auto s = weak.lock()) sessions.push_back(std::move(s));
  }
  for (auto& s : sessions) s->Abandon();
}

Server::~Server() {
  Shutdown(std::chrono::milliseconds(0));
  if (impl_->reserve_fd >= 0) ::close(impl_->reserve_fd);
  // Impl's members are declared so that the io_contexts (and the sessions their queued
  // handlers still hold) go before the dispatcher, context and metrics those point to.
}

}  // namespace parley
