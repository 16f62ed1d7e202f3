// Listener: the gateway's accepting side — the client port (plain TCP or TLS) and the
// optional plain-HTTP admin port. It admits each new connection or refuses it at once:
// at max_connections (503), over the per-address limits of [limits] (429; an IPv6 client
// is keyed by its /64), or out of file descriptors (a reserve descriptor is spent to
// accept and close the connection rather than leave it in the kernel backlog). Admitted
// connections are spread round-robin over the network threads and handed to an
// HttpSession. The admin port has its own small budget outside max_connections, so that
// operators are not locked out by a full client port.
//
// Asio only (no Beast): it accepts, it does not parse.
//
// Thread-safety: Listen/Start/Stop/ports from the controlling thread, before the network
// threads run or while they run (Stop posts to them); ReloadTls from any thread.
#pragma once

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gateway/gateway_context.h"
#include "gateway/routes.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace parley {

class Listener {
 public:
  // `ios` are the network threads' contexts (the acceptors run on the first); they,
  // `ctx` (its config, metrics, counts and address limits) and `routes` must outlive the
  // listener.
  Listener(GatewayContext& ctx, const RouteTable& routes,
           const std::vector<std::unique_ptr<boost::asio::io_context>>& ios);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Raises the open-file limit, loads the TLS certificate (if configured) and binds both
  // ports. kInvalidArgument for a bad certificate or host, kUnavailable if a port is taken.
  Status Listen();
  // Starts accepting (the accepts run on the network threads).
  void Start();
  // Stops accepting: closes both acceptors on their thread.
  void Stop();

  uint16_t port() const;        // the bound client port (useful with port 0)
  uint16_t admin_port() const;  // 0 without an admin listener

  // See Server::ReloadTls.
  Status ReloadTls();

 private:
  using tcp = boost::asio::ip::tcp;

  Status Bind(tcp::acceptor& acceptor, const std::string& host, uint16_t port_number);
  void Accept(tcp::acceptor& acceptor, bool admin);
  void OnAccepted(tcp::socket socket, bool admin);
  void OnAcceptError(tcp::acceptor& acceptor, const boost::system::error_code& ec);
  // Refuses a connection at once with `response` (plain HTTP; a TLS client would not
  // understand it, so it is just closed).
  void Turn(tcp::socket socket, const char* why, std::string_view response, bool tls_listener);
  void Refuse(const char* why);
  std::shared_ptr<boost::asio::ssl::context> CurrentTls();

  GatewayContext& ctx_;
  const GatewayConfig& config_;
  const RouteTable& routes_;
  const std::vector<std::unique_ptr<boost::asio::io_context>>& ios_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<tcp::acceptor> admin_acceptor_;
  std::mutex tls_mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // null: plain TCP. Guarded by tls_mu_.
  size_t next_io_ = 0;                              // accept thread only
  size_t max_connections_ = 0;
  int reserve_fd_ = -1;
  std::chrono::steady_clock::time_point last_refusal_log_{};  // accept thread only
};

}  // namespace parley
