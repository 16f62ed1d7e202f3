#include "gateway/listener.h"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/clock.h"
#include "common/files.h"
#include "gateway/client_address.h"
#include "gateway/connection_slot.h"
#include "gateway/http_session.h"

namespace parley {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// File descriptors kept back from client connections for the store, logs and the reserve.
constexpr size_t kReservedFds = 256;
// Connections the admin listener holds at once.
constexpr size_t kMaxAdminConnections = 64;

constexpr char kBusy[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\n"
    "Connection: close\r\n\r\n";

std::string TooMany(int64_t retry_after_s) {
  return "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nRetry-After: " +
         std::to_string(std::max<int64_t>(1, retry_after_s)) + "\r\nConnection: close\r\n\r\n";
}

// Loads a certificate chain and its private key (PEM) into a new TLS server context.
Result<std::shared_ptr<asio::ssl::context>> LoadTlsContext(const std::string& cert_file,
                                                           const std::string& key_file) {
  PARLEY_RETURN_IF_ERROR(CheckSecretFile(key_file, "TLS key file (tls.key_file)"));
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  boost::system::error_code ec;
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

uint16_t BoundPort(const std::optional<tcp::acceptor>& acceptor) {
  if (!acceptor) return 0;
  boost::system::error_code ec;
  auto ep = acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace

Listener::Listener(GatewayContext& ctx, const RouteTable& routes,
                   const std::vector<std::unique_ptr<asio::io_context>>& ios)
    : ctx_(ctx), config_(ctx.config), routes_(routes), ios_(ios) {
  acceptor_.emplace(*ios_[0]);
  if (config_.admin_listen_port != 0) admin_acceptor_.emplace(*ios_[0]);
}

Listener::~Listener() {
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

Status Listener::Listen() {
  RaiseFdLimit();
  if (!config_.tls_cert_file.empty() || !config_.tls_key_file.empty()) {
    PARLEY_ASSIGN_OR_RETURN(tls_, LoadTlsContext(config_.tls_cert_file, config_.tls_key_file));
  }
  PARLEY_RETURN_IF_ERROR(Bind(*acceptor_, config_.listen_host, config_.listen_port));
  if (admin_acceptor_) {
    PARLEY_RETURN_IF_ERROR(
        Bind(*admin_acceptor_, config_.admin_listen_host, config_.admin_listen_port));
  }
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const size_t fds = FdLimit();
  max_connections_ = config_.max_connections;
  if (fds != SIZE_MAX && fds > kReservedFds) {
    max_connections_ = std::min(max_connections_, fds - kReservedFds);
  }
  spdlog::info(
      "listening on {}:{} ({}, ws path /ws); {} network threads; max {} connections "
      "(open-file limit {}), {} per client address",
      config_.listen_host, port(), tls_ ? "TLS" : "plain TCP", ios_.size(), max_connections_, fds,
      config_.max_connections_per_ip);
  if (admin_acceptor_) {
    spdlog::info("admin listener on {}:{} (plain HTTP: /admin/*, /metrics, /healthz, /readyz)",
                 config_.admin_listen_host, admin_port());
  }
  return Status::Ok();
}

Status Listener::Bind(tcp::acceptor& a, const std::string& host, uint16_t port_number) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(*ios_[0]);
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

void Listener::Start() {
  Accept(*acceptor_, false);
  if (admin_acceptor_) Accept(*admin_acceptor_, true);
}

void Listener::Stop() {
  asio::post(*ios_[0], [this] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    if (admin_acceptor_) admin_acceptor_->close(ignored);
  });
}

uint16_t Listener::port() const { return BoundPort(acceptor_); }
uint16_t Listener::admin_port() const { return BoundPort(admin_acceptor_); }

std::shared_ptr<asio::ssl::context> Listener::CurrentTls() {
  std::lock_guard<std::mutex> lock(tls_mu_);
  return tls_;
}

Status Listener::ReloadTls() {
  if (config_.tls_cert_file.empty()) return Status::Ok();
  auto loaded = LoadTlsContext(config_.tls_cert_file, config_.tls_key_file);
  if (!loaded.ok()) return loaded.status();
  std::lock_guard<std::mutex> lock(tls_mu_);
  tls_ = std::move(*loaded);
  return Status::Ok();
}

void Listener::Accept(tcp::acceptor& a, bool admin) {
  asio::io_context& target = *ios_[next_io_++ % ios_.size()];
  a.async_accept(target, [this, &a, admin](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !a.is_open()) return;
    if (ec) {
      OnAcceptError(a, ec);
    } else {
      OnAccepted(std::move(socket), admin);
    }
    Accept(a, admin);
  });
}

void Listener::OnAccepted(tcp::socket socket, bool admin) {
  // The admin port is plain HTTP; the client port is TLS when a certificate is loaded.
  std::shared_ptr<asio::ssl::context> tls = admin ? nullptr : CurrentTls();
  ConnectionSlot slot;
  if (admin) {
    if (ctx_.admin_connections.load(std::memory_order_relaxed) >= kMaxAdminConnections) {
      return Turn(std::move(socket), "admin listener connections", kBusy, false);
    }
    slot = ConnectionSlot(&ctx_, "", true);
  } else {
    if (ctx_.open_connections.load(std::memory_order_relaxed) >= max_connections_) {
      return Turn(std::move(socket), "max_connections reached", kBusy, tls != nullptr);
    }
    boost::system::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    if (ctx_.trusted_proxies.Trusts(peer.address())) {
      // A proxy (HAProxy) carries many clients: each is admitted under its own address
      // when its upgrade request names it (X-Forwarded-For, HttpSession::Upgrade).
      slot = ConnectionSlot(&ctx_, "", false);
    } else {
      std::string key = AddressKey(peer.address());
      AddressAdmission admission = AdmitAddress(ctx_, key);
      if (!admission.admitted) {
        return Turn(std::move(socket), admission.why, TooMany(admission.retry_after_s),
                    tls != nullptr);
      }
      slot = ConnectionSlot(&ctx_, std::move(key), false);
    }
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  // The session starts on the connection's own thread.
  auto executor = socket.get_executor();
  asio::post(executor, [this, socket = std::move(socket), tls = std::move(tls),
                        slot = std::move(slot), admin]() mutable {
    StartHttpSession(std::move(socket), std::move(tls), ctx_, routes_, std::move(slot), admin);
  });
}

void Listener::Turn(tcp::socket socket, const char* why, std::string_view response,
                    bool tls_listener) {
  Refuse(why);
  boost::system::error_code ignored;
  if (!tls_listener) {
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(response.data(), response.size()), ignored);
  }
  socket.close(ignored);
}

// Out of file descriptors: the pending connection would wait in the kernel backlog until
// the client gives up. Use the reserve descriptor to accept and close it at once.
void Listener::OnAcceptError(tcp::acceptor& a, const boost::system::error_code& ec) {
  if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
    int fd = ::accept(a.native_handle(), nullptr, nullptr);
    if (fd >= 0) ::close(fd);
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    Refuse("out of file descriptors (open-file limit reached)");
    return;
  }
  spdlog::warn("accept failed: {}", ec.message());
}

void Listener::Refuse(const char* why) {
  ctx_.metrics->connections_refused.Inc();
  auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ > std::chrono::seconds(5)) {
    last_refusal_log_ = now;
    spdlog::warn("refusing new connections: {} ({} open; refused so far: {})", why,
                 ctx_.open_connections.load(), ctx_.metrics->connections_refused.value());
  }
}

}  // namespace parley
