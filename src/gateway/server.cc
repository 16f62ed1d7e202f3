#include "gateway/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

#include "common/hash_pool.h"
#include "common/worker_pool.h"
#include "gateway/dispatcher.h"
#include "gateway/gateway_context.h"
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

// One plain HTTP connection: health, readiness, metrics, or the upgrade to /ws.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, GatewayContext& ctx, metrics::Registry& registry,
              const std::atomic<bool>& ready)
      : stream_(std::move(socket)), ctx_(ctx), registry_(registry), ready_(ready) {}

  ~HttpSession() {
    if (!upgraded_) {
      ctx_.open_connections.fetch_sub(1, std::memory_order_relaxed);
      ctx_.metrics->connections.Add(-1);
    }
  }

  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHttpRequestBytes);
    parser_->body_limit(kMaxHttpRequestBytes);
    stream_.expires_after(std::chrono::seconds(15));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Close();
    http::request<http::string_body> req = parser_->release();
    if (beast::websocket::is_upgrade(req)) {
      if (req.target() != "/ws") return Respond(req, http::status::not_found, "no such endpoint\n");
      // The connection now belongs to the WebSocket session (which counts it from here).
      upgraded_ = true;
      stream_.expires_never();
      auto ws = std::make_shared<WsSession>(stream_.release_socket(), ctx_);
      ws->Start(std::move(req));
      return;
    }
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with("/admin/")) return Admin(std::move(req));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return Respond(req, http::status::method_not_allowed, "GET only\n");
    }
    if (path == "/healthz") return Respond(req, http::status::ok, "ok\n");
    if (path == "/readyz") {
      bool ok = ready_.load(std::memory_order_relaxed);
      return Respond(req, ok ? http::status::ok : http::status::service_unavailable,
                     ok ? "ready\n" : "not ready\n");
    }
    if (path == "/metrics") {
      return Respond(req, http::status::ok, registry_.RenderPrometheus(),
                     "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/ws") {
      return Respond(req, http::status::upgrade_required, "WebSocket upgrade required\n");
    }
    Respond(req, http::status::not_found, "no such endpoint\n");
  }

  // Admin requests may take minutes (a backup): no read timeout while one runs, and the
  // answer comes back to this connection's thread.
  void Admin(http::request<http::string_body> req) {
    if (!ctx_.admin) return Respond(req, http::status::not_found, "no such endpoint\n");
    stream_.expires_never();
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
    res->keep_alive(req.keep_alive());
    res->body() = std::move(body);
    res->prepare_payload();
    if (req.method() == http::verb::head) res->body().clear();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  GatewayContext& ctx_;
  metrics::Registry& registry_;
  const std::atomic<bool>& ready_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool upgraded_ = false;
};

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
  Impl(const GatewayConfig& c, Core& core, Hub& hub, metrics::Registry& reg,
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
        dispatcher(core, hub, c, metrics, *workers, *hashers, search) {
    ctx.config = c;
    ctx.dispatcher = &dispatcher;
    ctx.metrics = &metrics;
    size_t n = c.io_threads ? c.io_threads : std::max(1u, std::thread::hardware_concurrency());
    for (size_t i = 0; i < n; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*ios[0]);
  }

  Status Listen() {
    beast::error_code ec;
    auto address = asio::ip::make_address(config.listen_host, ec);
    if (ec) {
      tcp::resolver resolver(*ios[0]);
      auto results = resolver.resolve(config.listen_host, std::to_string(config.listen_port), ec);
      if (ec || results.empty()) {
        return Status(Code::kInvalidArgument, "cannot resolve listen host " + config.listen_host);
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, config.listen_port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(Code::kUnavailable, "cannot listen on " + config.listen_host + ":" +
                                            std::to_string(config.listen_port) + ": " +
                                            ec.message());
    }
    acceptor->non_blocking(true, ec);
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    size_t fds = FdLimit();
    max_connections = config.max_connections;
    if (fds != SIZE_MAX && fds > kReservedFds)
      max_connections = std::min(max_connections, fds - kReservedFds);
    spdlog::info(
        "listening on {}:{} (ws path /ws); {} network threads; max {} connections (open-file limit "
        "{})",
        config.listen_host, port(), ios.size(), max_connections, fds);
    return Status::Ok();
  }

  uint16_t port() const {
    beast::error_code ec;
    auto ep = acceptor->local_endpoint(ec);
    return ec ? 0 : ep.port();
  }

  void Accept() {
    asio::io_context& target = *ios[next_io++ % ios.size()];
    acceptor->async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        OnAcceptError(ec);
      } else {
        OnAccepted(std::move(socket));
      }
      Accept();
    });
  }

  void OnAccepted(tcp::socket socket) {
    if (ctx.open_connections.load(std::memory_order_relaxed) >= max_connections) {
      Refuse("max_connections reached");
      static const char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\n"
          "Connection: close\r\n\r\n";
      beast::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(kBusy, sizeof(kBusy) - 1), ignored);
      socket.close(ignored);
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    ctx.open_connections.fetch_add(1, std::memory_order_relaxed);
    metrics.connections.Add(1);
    metrics.connections_accepted.Inc();
    // Start on the connection's own thread.
    auto executor = socket.get_executor();
    auto session = std::make_shared<HttpSession>(std::move(socket), ctx, registry, ready);
    asio::post(executor, [session] { session->Start(); });
  }

  // Out of file descriptors: the pending connection would wait in the kernel backlog
  // until the client gives up. Use the reserve descriptor to accept and close it at once.
  void OnAcceptError(const beast::error_code& ec) {
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
      if (reserve_fd >= 0) ::close(reserve_fd);
      int fd = ::accept(acceptor->native_handle(), nullptr, nullptr);
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
  GatewayContext ctx;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::thread> threads;
  std::optional<tcp::acceptor> acceptor;
  size_t next_io = 0;
  size_t max_connections = 0;
  int reserve_fd = -1;
  std::chrono::steady_clock::time_point last_refusal_log{};
  std::atomic<bool> ready{false};
  bool stopped = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::Start(const GatewayConfig& config, Core& core, Hub& hub,
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
  raw->Accept();
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

void Server::Shutdown(std::chrono::milliseconds drain) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  m.ready = false;
  asio::post(*m.ios[0], [&m] {
    beast::error_code ignored;
    m.acceptor->close(ignored);
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
