#include "gateway/server.h"

#include <spdlog/spdlog.h>

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <optional>
#include <thread>

#include "common/hash_pool.h"
#include "common/worker_pool.h"
#include "gateway/dispatcher.h"
#include "gateway/gateway_context.h"
#include "gateway/listener.h"
#include "gateway/live_sessions.h"
#include "gateway/routes.h"

namespace parley {
namespace asio = boost::asio;

struct Server::Impl {
  Impl(const GatewayConfig& c, CoreApi& core, Hub& hub, metrics::Registry& reg,
       search::SearchService* search, AdminHandler admin, ClusterPeers* peers)
      : config(c),
        registry(reg),
        metrics(reg),
        workers(std::make_unique<WorkerPool>(
            c.worker_threads ? c.worker_threads
                             : std::max(2u, std::thread::hardware_concurrency()))),
        hashers(std::make_unique<HashPool>(
            c.hash_threads ? c.hash_threads : std::max(1u, std::thread::hardware_concurrency() / 2),
            c.hash_queue)),
        dispatcher(core, hub, c, metrics, *workers, *hashers, search, peers),
        address_limits(c.max_connections_per_ip, c.handshake_rate_per_ip,
                       c.handshake_burst_per_ip) {
    ctx.config = c;
    ctx.admin = std::move(admin);
    ctx.dispatcher = &dispatcher;
    ctx.metrics = &metrics;
    ctx.address_limits = &address_limits;
    ctx.peers = peers;
    routes.emplace(BuiltInRoutes(ctx, ready, registry));
    size_t n = c.io_threads ? c.io_threads : std::max(1u, std::thread::hardware_concurrency());
    for (size_t i = 0; i < n; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
    listener.emplace(ctx, *routes, ios);
  }

  GatewayConfig config;
  metrics::Registry& registry;
  GatewayMetrics metrics;
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<HashPool> hashers;
  Dispatcher dispatcher;
  AddressLimits address_limits;
  GatewayContext ctx;
  std::atomic<bool> ready{false};
  std::optional<RouteTable> routes;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::thread> threads;
  std::optional<Listener> listener;  // its acceptors run on ios[0]
  bool stopped = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::Start(const GatewayConfig& config, CoreApi& core, Hub& hub,
                                              metrics::Registry& registry,
                                              search::SearchService* search, AdminHandler admin,
                                              ClusterPeers* peers,
                                              std::function<bool()> ready_check,
                                              ServerExtras extras) {
  PARLEY_ASSIGN_OR_RETURN(TrustedProxies proxies, TrustedProxies::Parse(config.trusted_proxies));
  auto impl = std::make_unique<Impl>(config, core, hub, registry, search, std::move(admin), peers);
  impl->ctx.ready_check = std::move(ready_check);
  impl->dispatcher.SetAttachments(extras.attachments);
  for (Route& route : extras.routes) impl->routes->Add(std::move(route));
  impl->ctx.trusted_proxies = std::move(proxies);
  PARLEY_RETURN_IF_ERROR(impl->listener->Listen());
  Impl* raw = impl.get();
  // The histogram lives in the registry, which outlives the hub's use of it.
  hub.set_commit_histogram(&raw->metrics.stage_hub);
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
  raw->listener->Start();
  for (auto& io : raw->ios) {
    raw->threads.emplace_back([io = io.get()] {
      auto guard = asio::make_work_guard(*io);
      io->run();
    });
  }
  raw->ready = true;
  return server;
}

uint16_t Server::port() const { return impl_->listener->port(); }
uint16_t Server::admin_port() const { return impl_->listener->admin_port(); }
Status Server::ReloadTls() { return impl_->listener->ReloadTls(); }

void Server::Shutdown(std::chrono::milliseconds drain) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  m.ready = false;
  // /readyz fails from here on while everything is still served, so that a load balancer
  // stops routing here before the connections close.
  const auto unready_until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(m.config.shutdown_grace_ms);
  while (std::chrono::steady_clock::now() < unready_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  m.listener->Stop();
  m.dispatcher.SetDraining();
  // Answer what was already read (sends in the sequencer finish their commit).
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (m.ctx.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const size_t closing = CloseLiveSessions(m.ctx, 1001, "server shutting down");
  spdlog::info("closing {} client connections (1001 going away)", closing);
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
  AbandonLiveSessions(m.ctx);
}

Server::~Server() {
  Shutdown(std::chrono::milliseconds(0));
  // Impl's members are declared so that the listener goes before the io_contexts, and the
  // io_contexts (and the sessions their queued handlers still hold) before the routes,
  // dispatcher, context and metrics those point to.
}

}  // namespace parley
