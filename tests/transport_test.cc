// Transport hardening against the real parleyd (issue 10, items 4, 6 and 11): what an
// unauthenticated client can make the server hold, per-address connection limits, HTTP
// connection slots, TLS (wss:// and https://, SIGHUP reload), the admin listener and the
// Origin check. Clients here are raw sockets or raw Beast streams, so that they can do
// what the client library never does (stop mid-message, pipeline without reading, come
// from 127.0.0.2).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "client/http_request.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/temp_dir.h"

namespace parley::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

// A TCP connection to 127.0.0.1:port from `source` (any 127.0.0.0/8 address works on
// Linux): the per-address limits see each source as a client of its own.
class RawTcp {
 public:
  RawTcp(uint16_t port, const char* source = "127.0.0.1", int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source, &src.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawTcp() { ::close(fd_); }
  RawTcp(const RawTcp&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until `until` appears, the peer closes, or the 10 s receive timeout.
  std::string Read(const std::string& until = "\r\n\r\n") {
    std::string out;
    char buf[4096];
    while (until.empty() || out.find(until) == std::string::npos) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Everything until the peer closes (or the receive timeout): true if it closed.
  bool ReadToEof(std::string* out) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return false;
      out->append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string Get(const std::string& path, bool keep_alive = true) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

std::string Upgrade(const std::string& extra_headers = "") {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra_headers + "\r\n";
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The value of an unlabelled gauge in /metrics text, -1 if absent.
double Gauge(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(metrics.c_str() + at + name.size() + 2, nullptr);
}

Result<client::HttpResponse> HttpOn(uint16_t port, const std::string& path,
                                    const std::string& token = "") {
  client::HttpRequestSpec spec;
  spec.port = port;
  spec.path = path;
  if (!token.empty()) spec.headers.push_back({"Authorization", "Bearer " + token});
  return client::HttpRequest(spec);
}

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds deadline = 20s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);  // poll interval
  }
  return pred();
}

class TransportTest : public GatewayFixture {
 protected:
  void SetUp() override {}  // each test starts the server with its own config
  // StartServer, for ASSERT_TRUE: the test stops if parleyd did not start.
  bool Started(const std::string& extra_config = "") {
    StartServer(extra_config);
    return server_ != nullptr;
  }
};

// ---------------------------------------------------------------------------------------
// Item 4: memory before login.

TEST_F(TransportTest, PartialCompressedFragmentsBeforeLoginAreBounded) {
  ASSERT_TRUE(Started());
  constexpr int kClients = 150;
  // 1 MiB less a little: under the old 1 MiB message limit, so the old server inflated
  // and held all of it while waiting for the rest of the message.
  const std::string zeros(1024 * 1024 - 4096, '0');
  asio::io_context io;
  std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> clients;
  const size_t rss_before = server_->RssKib();
  for (int i = 0; i < kClients; ++i) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(io);
    beast::error_code ec;
    ws->next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()),
                             ec);
    ASSERT_FALSE(ec) << ec.message();
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    ws->set_option(pmd);
    ws->handshake("127.0.0.1", "/ws", ec);
    ASSERT_FALSE(ec) << ec.message();
    ws->text(true);
    // The first fragment of a message (FIN clear), compressed: ~1 KB on the wire.
    ws->write_some(false, asio::buffer(zeros), ec);
    clients.push_back(std::move(ws));
  }
  // The server got ~150 MiB of inflatable data; it may hold a few KiB per connection.
  size_t worst = 0;
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    worst = std::max(worst, server_->RssKib());
    std::this_thread::sleep_for(50ms);  // sampling interval
  }
  const size_t growth_kib = worst > rss_before ? worst - rss_before : 0;
  std::printf("server RSS growth for %d partial compressed messages: %zu KiB\n", kClients,
              growth_kib);
  EXPECT_LT(growth_kib, 40u * 1024)
      << "server memory grew by " << growth_kib << " KiB for " << kClients << " partial messages";
  // The connection is closed with 1009 (message too big).
  auto& first = *clients.front();
  beast::flat_buffer buffer;
  beast::error_code read_ec;
  first.async_read(buffer, [&](beast::error_code ec, size_t) { read_ec = ec; });
  io.run_for(10s);
  EXPECT_EQ(read_ec, websocket::error::closed) << read_ec.message();
  EXPECT_EQ(first.reason().code, 1009);
  EXPECT_TRUE(Connect()->Ping().ok());  // the server is fine
}

TEST_F(TransportTest, TheMessageCapIsSmallUntilLoginAndNormalAfter) {
  ASSERT_TRUE(Started());
  const std::string body(20 * 1024, 'b');
  {
    // 20 KiB is under max_frame_bytes (64 KiB), but an unauthenticated client may send
    // only max_frame_bytes_before_auth (8 KiB).
    asio::io_context io;
    websocket::stream<tcp::socket> ws(io);
    ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    ws.handshake("127.0.0.1", "/ws");
    beast::error_code ec;
    ws.write(asio::buffer(R"({"id":"x","op":"ping","pad":")" + body + "\"}"), ec);
    beast::flat_buffer buffer;
    beast::error_code read_ec;
    ws.async_read(buffer, [&](beast::error_code e, size_t) { read_ec = e; });
    io.run_for(10s);
    EXPECT_TRUE(read_ec) << "the connection must end";  // (answering the close may fail)
    EXPECT_EQ(ws.reason().code, 1009);
  }
  auto bob = Device("bob", "b1");
  auto alice = Device("alice", "a1");
  auto conv = alice->OpenDirect("bob");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  auto sent = alice->Send(conv->id, body);
  EXPECT_TRUE(sent.ok()) << sent.status().ToString();
  auto got = MessagePushes(*bob, 1);
  ASSERT_EQ(got.size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Per-address limits (items 4 and 6).

TEST_F(TransportTest, OneAddressCannotTakeEverySlot) {
  ASSERT_TRUE(Started("[server]\nmax_connections = 20\n[limits]\nmax_connections_per_ip = 5\n"));
  std::vector<std::unique_ptr<RawTcp>> hog;
  for (int i = 0; i < 25; ++i)
    hog.push_back(std::make_unique<RawTcp>(server_->port(), "127.0.0.2"));
  // The sixth connection from 127.0.0.2 is refused with 429 and Retry-After.
  std::string refused = hog[5]->Read();
  EXPECT_NE(refused.find("HTTP/1.1 429"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Retry-After:"), std::string::npos) << refused;
  // Another address still gets in.
  RawTcp other(server_->port(), "127.0.0.3");
  ASSERT_TRUE(other.Send(Get("/healthz", false)));
  EXPECT_NE(other.Read().find("HTTP/1.1 200"), std::string::npos);
  // A slot of 127.0.0.2 freed is usable again.
  hog.clear();
  EXPECT_TRUE(Eventually([&] {
    RawTcp again(server_->port(), "127.0.0.2");
    return again.Send(Get("/healthz", false)) &&
           again.Read().find("HTTP/1.1 200") != std::string::npos;
  }));
}

TEST_F(TransportTest, HandshakesPerAddressAreRateLimited) {
  ASSERT_TRUE(Started("[limits]\nhandshake_rate_per_ip = 0.5\nhandshake_burst_per_ip = 3\n"));
  for (int i = 0; i < 3; ++i) {
    RawTcp c(server_->port(), "127.0.0.4");
    ASSERT_TRUE(c.Send(Get("/healthz", false)));
    EXPECT_NE(c.Read().find("HTTP/1.1 200"), std::string::npos) << i;
  }
  RawTcp fourth(server_->port(), "127.0.0.4");
  std::string refused = fourth.Read();
  EXPECT_NE(refused.find("HTTP/1.1 429"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Retry-After: 2"), std::string::npos) << refused;
  RawTcp other(server_->port(), "127.0.0.5");
  ASSERT_TRUE(other.Send(Get("/healthz", false)));
  EXPECT_NE(other.Read().find("HTTP/1.1 200"), std::string::npos);
}

// Behind a trusted proxy (the cluster's HAProxy) each client keeps its own per-address
// budget, named by X-Forwarded-For; a peer that is not trusted cannot choose its address.
TEST_F(TransportTest, ClientsBehindATrustedProxyAreLimitedByTheirOwnAddress) {
  ASSERT_TRUE(
      Started("[server]\ntrusted_proxies = [\"127.0.0.6\", \"10.0.0.0/8\"]\n"
              "[limits]\nmax_connections_per_ip = 2\n"));
  auto via_proxy = [&](const char* source, const std::string& xff) {
    auto c = std::make_unique<RawTcp>(server_->port(), source);
    EXPECT_TRUE(c->Send(Upgrade("X-Forwarded-For: " + xff + "\r\n")));
    return c;
  };
  std::vector<std::unique_ptr<RawTcp>> open;
  // Two of 203.0.113.7 through the proxy (one through a second proxy of ours, with a
  // forged entry on the left that must be ignored); the third is refused at the upgrade.
  for (const char* xff : {"203.0.113.7", "1.2.3.4, 203.0.113.7, 10.1.1.1"}) {
    auto c = via_proxy("127.0.0.6", xff);
    EXPECT_NE(c->Read().find("HTTP/1.1 101"), std::string::npos) << xff;
    open.push_back(std::move(c));
  }
  auto third = via_proxy("127.0.0.6", "203.0.113.7");
  std::string refused = third->Read();
  EXPECT_NE(refused.find("HTTP/1.1 429"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Retry-After:"), std::string::npos) << refused;
  // Another client behind the same proxy gets in: the proxy's address is not the budget.
  for (const char* xff : {"203.0.113.8", "203.0.113.9"}) {
    auto c = via_proxy("127.0.0.6", xff);
    EXPECT_NE(c->Read().find("HTTP/1.1 101"), std::string::npos) << xff;
    open.push_back(std::move(c));
  }
  // An untrusted peer's X-Forwarded-For is ignored: it is limited as itself.
  for (const char* xff : {"198.51.100.1", "198.51.100.2"}) {
    auto c = via_proxy("127.0.0.7", xff);
    EXPECT_NE(c->Read().find("HTTP/1.1 101"), std::string::npos) << xff;
    open.push_back(std::move(c));
  }
  RawTcp spoofer(server_->port(), "127.0.0.7");
  EXPECT_NE(spoofer.Read().find("HTTP/1.1 429"), std::string::npos);
  // A closed client connection frees its slot under the client's address.
  open.erase(open.begin());
  EXPECT_TRUE(Eventually([&] {
    auto c = via_proxy("127.0.0.6", "203.0.113.7");
    return c->Read().find("HTTP/1.1 101") != std::string::npos;
  }));
}

// ---------------------------------------------------------------------------------------
// Item 6: HTTP connection slots.

TEST_F(TransportTest, IdleHttpConnectionsAreClosed) {
  ASSERT_TRUE(Started("[server]\nhttp_idle_timeout_ms = 500\n"));
  RawTcp kept(server_->port());
  ASSERT_TRUE(kept.Send(Get("/healthz")));
  EXPECT_NE(kept.Read().find("HTTP/1.1 200"), std::string::npos);
  RawTcp silent(server_->port());
  const auto start = std::chrono::steady_clock::now();
  std::string rest;
  EXPECT_TRUE(kept.ReadToEof(&rest));  // within the 10 s receive timeout
  EXPECT_TRUE(silent.ReadToEof(&rest));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
}

TEST_F(TransportTest, KeepAliveConnectionsServeABoundedNumberOfRequests) {
  ASSERT_TRUE(Started("[server]\nhttp_max_requests_per_conn = 3\n"));
  RawTcp c(server_->port());
  std::string pipelined;
  for (int i = 0; i < 5; ++i) pipelined += Get("/healthz");
  ASSERT_TRUE(c.Send(pipelined));
  std::string all;
  EXPECT_TRUE(c.ReadToEof(&all));
  EXPECT_EQ(Count(all, "HTTP/1.1 200"), 3u) << all;
  EXPECT_EQ(Count(all, "Connection: close"), 1u) << all;
}

TEST_F(TransportTest, PipelinedAdminRequestsNeverReadDoNotHoldASlot) {
  const std::string token = "transport-test-admin-token";
  ASSERT_TRUE(
      Started("[server]\nhttp_idle_timeout_ms = 1000\nhttp_max_requests_per_conn = 1000000\n"
              "[admin]\ntoken = \"" +
              token + "\"\n"));
  auto connections = [&] {
    auto m = server_->HttpGet("/metrics");
    return m.ok() ? Gauge(*m, "parley_connections") : -1;
  };
  const double baseline = connections();
  ASSERT_GE(baseline, 1);
  {
    // A tiny receive buffer, and requests (with a wrong token) the client never reads
    // the answers to: the server's writes block once the buffers are full.
    RawTcp c(server_->port(), "127.0.0.1", 4096);
    const std::string request = "GET /admin/backups HTTP/1.1\r\nHost: x\r\n\r\n";
    std::string chunk;
    for (int i = 0; i < 1000; ++i) chunk += request;
    size_t sent = 0;
    auto until = std::chrono::steady_clock::now() + 10s;
    while (sent < 16u << 20 && std::chrono::steady_clock::now() < until) {
      ssize_t n = ::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (errno == EAGAIN) {
        std::this_thread::sleep_for(20ms);  // the server stopped reading: wait, then retry
      } else {
        break;  // the server closed the connection
      }
    }
    EXPECT_GT(sent, 1u << 20);
    EXPECT_TRUE(Eventually([&] { return connections() <= baseline; }))
        << "a connection that never reads its answers kept its slot";
  }
}

// ---------------------------------------------------------------------------------------
// Item 11: admin listener and Origin.

TEST_F(TransportTest, AdminListenerAloneServesAdminAndMetrics) {
  const std::string token = "transport-test-admin-token";
  uint16_t admin_port = 0;
  for (int attempt = 0; attempt < 3 && !server_; ++attempt) {
    admin_port = FreePort();
    ServerOptions opts;
    opts.config_toml = std::string(kFastHashes) + "[admin]\ntoken = \"" + token +
                       "\"\nlisten = \"127.0.0.1:" + std::to_string(admin_port) + "\"\n";
    auto s = ServerProcess::Start(opts);
    if (s.ok()) server_ = std::move(s).value();
  }
  ASSERT_TRUE(server_);
  auto status = [](Result<client::HttpResponse> r) { return r.ok() ? r->status : -1; };
  EXPECT_EQ(status(HttpOn(server_->port(), "/metrics")), 404);
  EXPECT_EQ(status(HttpOn(server_->port(), "/admin/backups", token)), 404);
  EXPECT_EQ(status(HttpOn(server_->port(), "/healthz")), 200);
  EXPECT_EQ(status(HttpOn(admin_port, "/metrics")), 200);
  EXPECT_EQ(status(HttpOn(admin_port, "/admin/backups")), 401);
  EXPECT_EQ(status(HttpOn(admin_port, "/admin/backups", token)), 503);  // no [backup] target
  EXPECT_EQ(status(HttpOn(admin_port, "/healthz")), 200);
  RawTcp ws(admin_port);
  ASSERT_TRUE(ws.Send(Upgrade()));
  EXPECT_NE(ws.Read().find("HTTP/1.1 404"), std::string::npos);
  EXPECT_TRUE(Connect()->Ping().ok());  // the WebSocket stays on the main port
}

TEST_F(TransportTest, UpgradeChecksOrigin) {
  ASSERT_TRUE(Started("[server]\nallowed_origins = [\"https://chat.example.com\"]\n"));
  auto upgrade = [&](const std::string& headers) {
    RawTcp c(server_->port());
    EXPECT_TRUE(c.Send(Upgrade(headers)));
    std::string head = c.Read();
    return head.substr(0, head.find("\r\n"));
  };
  EXPECT_EQ(upgrade("Origin: https://evil.example.net\r\n"), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(upgrade("Origin: null\r\n"), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(upgrade("Origin: https://chat.example.com\r\n"), "HTTP/1.1 101 Switching Protocols");
  EXPECT_EQ(upgrade("Origin: HTTPS://Chat.Example.com\r\n"), "HTTP/1.1 101 Switching Protocols");
  EXPECT_EQ(upgrade(""), "HTTP/1.1 101 Switching Protocols");  // not a browser
}

TEST_F(TransportTest, BrowserOriginsAreRefusedByDefault) {
  ASSERT_TRUE(Started());
  RawTcp c(server_->port());
  ASSERT_TRUE(c.Send(Upgrade("Origin: https://chat.example.com\r\n")));
  EXPECT_NE(c.Read().find("HTTP/1.1 403"), std::string::npos);
  EXPECT_TRUE(Connect()->Ping().ok());
}

// A page of the server itself (the web client at /app/) is same-origin: its Origin is the
// scheme and the Host the request names. Nothing else gets in that way.
TEST_F(TransportTest, TheServersOwnOriginIsAccepted) {
  ASSERT_TRUE(Started());
  auto upgrade = [&](const std::string& host, const std::string& origin) {
    RawTcp c(server_->port());
    std::string req = Upgrade("Origin: " + origin + "\r\n");
    req.replace(req.find("Host: 127.0.0.1"), 15, "Host: " + host);
    EXPECT_TRUE(c.Send(req));
    std::string head = c.Read();
    return head.substr(0, head.find("\r\n"));
  };
  const std::string ok = "HTTP/1.1 101 Switching Protocols", refused = "HTTP/1.1 403 Forbidden";
  EXPECT_EQ(upgrade("127.0.0.1:7800", "http://127.0.0.1:7800"), ok);
  EXPECT_EQ(upgrade("Chat.Example.com", "https://chat.example.com"), ok);
  EXPECT_EQ(upgrade("chat.example.com", "https://chat.example.com:8443"), refused);
  EXPECT_EQ(upgrade("chat.example.com", "https://evil.example.com"), refused);
  EXPECT_EQ(upgrade("chat.example.com", "ftp://chat.example.com"), refused);
  EXPECT_EQ(upgrade("chat.example.com", "chat.example.com"), refused);
  EXPECT_EQ(upgrade("chat.example.com", "null"), refused);
}

// ---------------------------------------------------------------------------------------
// Item 11: TLS.

// A self-signed certificate for 127.0.0.1 and its key, made with the openssl CLI.
struct CertFiles {
  std::string cert, key;
};
CertFiles MakeCert(const std::string& dir, const std::string& name, const std::string& cn) {
  CertFiles f{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=" +
      cn + " -addext subjectAltName=IP:127.0.0.1 -keyout " + f.key + " -out " + f.cert +
      " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  fs::permissions(f.key, fs::perms::owner_read | fs::perms::owner_write);
  return f;
}

class TlsTest : public TransportTest {
 protected:
  void SetUp() override {
    auto made = MakeCert(dir_, "server", "parley-one");
    // The server reads these paths; a reload reads them again.
    cert_ = dir_ + "/live.crt";
    key_ = dir_ + "/live.key";
    fs::copy_file(made.cert, cert_);
    fs::copy_file(made.key, key_);
    fs::permissions(key_, fs::perms::owner_read | fs::perms::owner_write);
    ASSERT_TRUE(Started("[tls]\ncert_file = \"" + cert_ + "\"\nkey_file = \"" + key_ + "\"\n"));
  }
  void TearDown() override { server_.reset(); }

  // A TLS client context that trusts `ca_file` (empty: trusts nothing).
  static std::unique_ptr<asio::ssl::context> ClientContext(const std::string& ca_file) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (!ca_file.empty()) ctx->load_verify_file(ca_file);
    return ctx;
  }

  // Connects and completes the TLS handshake; returns the error, and the server
  // certificate's subject CN in *cn.
  beast::error_code TlsConnect(asio::io_context& io, beast::ssl_stream<beast::tcp_stream>& s,
                               std::string* cn = nullptr) {
    beast::error_code ec;
    beast::get_lowest_layer(s).expires_after(10s);
    beast::get_lowest_layer(s).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()), ec);
    if (ec) return ec;
    s.handshake(asio::ssl::stream_base::client, ec);
    if (!ec && cn) {
      X509* peer = SSL_get1_peer_certificate(s.native_handle());
      char buf[256] = {};
      if (peer) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof(buf));
        X509_free(peer);
      }
      *cn = buf;
    }
    (void)io;
    return ec;
  }

  std::string ServerCn() {
    asio::io_context io;
    auto ctx = ClientContext("");
    ctx->set_verify_mode(asio::ssl::verify_none);  // only reading which certificate is served
    beast::ssl_stream<beast::tcp_stream> s(io, *ctx);
    std::string cn;
    return TlsConnect(io, s, &cn) ? "" : cn;
  }

  const test::TempDir tmp_{"parley-tls-"};
  const std::string dir_ = tmp_.path();
  std::string cert_, key_;
};

TEST_F(TlsTest, ServesHttpsAndWss) {
  asio::io_context io;
  auto ctx = ClientContext(cert_);
  {
    beast::ssl_stream<beast::tcp_stream> s(io, *ctx);
    ASSERT_FALSE(TlsConnect(io, s)) << "handshake";
    http::request<http::empty_body> req(http::verb::get, "/healthz", 11);
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(s, buffer, res);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "ok\n");
  }
  {
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(io, *ctx);
    ASSERT_FALSE(TlsConnect(io, ws.next_layer())) << "handshake";
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.handshake("127.0.0.1", "/ws");
    ws.write(asio::buffer(
        std::string(R"({"id":"r1","op":"register","name":"tina","password":"tina-password"})")));
    beast::flat_buffer buffer;
    ws.read(buffer);
    const std::string reply = beast::buffers_to_string(buffer.data());
    EXPECT_NE(reply.find(R"("ok":true)"), std::string::npos) << reply;
    ws.close(websocket::close_code::normal);
  }
}

// End to end with the real client library (src/client): wss:// and https:// trusting the
// server's self-signed certificate, and refusing it without that trust.
TEST_F(TlsTest, ClientLibrarySendsAndReceivesOverWss) {
  ConnectOptions o;
  o.url = "wss://127.0.0.1:" + std::to_string(server_->port());
  o.ca_file = cert_;
  auto device = [&](const std::string& name) {
    auto c = std::make_unique<BlockingClient>(o, 30s);
    EXPECT_TRUE(c->Connect().ok());
    EXPECT_TRUE(c->Register(name, name + "-password").ok());
    EXPECT_TRUE(c->Login(name, name + "-password", name + "-1").ok());
    return c;
  };
  auto bob = device("bob");
  auto alice = device("alice");
  auto conv = alice->OpenDirect("bob");
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  ASSERT_TRUE(alice->Send(conv->id, "over tls").ok());
  auto got = MessagePushes(*bob, 1);
  ASSERT_EQ(got.size(), 1u);

  client::HttpRequestSpec spec;
  spec.port = server_->port();
  spec.path = "/healthz";
  spec.tls = true;
  spec.ca_file = cert_;
  auto health = client::HttpRequest(spec);
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->status, 200);

  ConnectOptions untrusted = o;
  untrusted.ca_file.clear();  // the system CAs do not know a self-signed certificate
  BlockingClient refused(untrusted, 30s);
  EXPECT_FALSE(refused.Connect().ok());
}

TEST_F(TlsTest, UntrustedCertificateAndPlainClientsAreRefused) {
  asio::io_context io;
  auto ctx = ClientContext("");  // trusts no one: the self-signed certificate is refused
  beast::ssl_stream<beast::tcp_stream> s(io, *ctx);
  EXPECT_TRUE(TlsConnect(io, s));
  // Plain HTTP to the TLS port gets no HTTP answer; the connection is closed.
  RawTcp plain(server_->port());
  ASSERT_TRUE(plain.Send(Get("/healthz")));
  std::string got;
  EXPECT_TRUE(plain.ReadToEof(&got));
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(ServerCn(), "parley-one");  // the server is fine
}

TEST_F(TlsTest, SighupReloadsTheCertificateAndKeepsTheOldOneOnError) {
  EXPECT_EQ(ServerCn(), "parley-one");
  auto next = MakeCert(dir_, "next", "parley-two");
  fs::copy_file(next.cert, cert_, fs::copy_options::overwrite_existing);
  fs::copy_file(next.key, key_, fs::copy_options::overwrite_existing);
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  EXPECT_TRUE(Eventually([&] { return ServerCn() == "parley-two"; }));
  // A broken certificate: the reload fails and the server keeps serving the last good one.
  std::ofstream(cert_, std::ios::trunc) << "not a certificate\n";
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  std::this_thread::sleep_for(300ms);  // give the (failing) reload time to happen
  EXPECT_EQ(ServerCn(), "parley-two");
  EXPECT_TRUE(server_->running());
}

TEST_F(TransportTest, StartRefusesAMismatchedOrPublicKey) {
  const test::TempDir tmp("parley-tls-");
  const std::string& dir = tmp.path();
  auto a = MakeCert(dir, "a", "a");
  auto b = MakeCert(dir, "b", "b");
  ServerOptions opts;
  opts.config_toml = std::string(kFastHashes) + "[tls]\ncert_file = \"" + a.cert +
                     "\"\nkey_file = \"" + b.key + "\"\n";
  auto mismatched = ServerProcess::Start(opts);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("TLS key"), std::string::npos)
      << mismatched.status().ToString();
  fs::permissions(a.key, fs::perms::others_read, fs::perm_options::add);
  opts.config_toml = std::string(kFastHashes) + "[tls]\ncert_file = \"" + a.cert +
                     "\"\nkey_file = \"" + a.key + "\"\n";
  auto world_readable = ServerProcess::Start(opts);
  EXPECT_FALSE(world_readable.ok());
}

}  // namespace
}  // namespace parley::testing
