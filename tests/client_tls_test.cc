// The client library over TLS (wss:// and https://): against a minimal Beast TLS server
// that lives in this test (a self-signed certificate made in the test), the client
// connects when the certificate is trusted through ca_file, refuses an untrusted
// certificate and a certificate naming another host, and plain ws:// to the real parleyd
// keeps working.
#include <gtest/gtest.h>

#include <utility>  // before Asio: g++ 12 in C++20 mode needs it (PLATFORM.md)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "client/blocking_client.h"
#include "client/connection.h"
#include "client/event_loop.h"
#include "client/http_request.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_cert.h"

namespace parley::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using TlsStream = beast::ssl_stream<tcp::socket>;

// A TLS server on 127.0.0.1: WebSocket upgrades get an echo of every message; any other
// HTTP request gets "200 hello over https". One loop thread; stopped by the destructor.
class TlsTestServer {
 public:
  explicit TlsTestServer(const TestCert& cert)
      : ctx_(asio::ssl::context::tls_server),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    ctx_.use_certificate_chain(asio::buffer(cert.cert_pem));
    ctx_.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsTestServer() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Conn {
    Conn(tcp::socket s, asio::ssl::context& ctx) : ws(std::move(s), ctx) {}
    websocket::stream<TlsStream> ws;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      auto c = std::make_shared<Conn>(std::move(s), ctx_);
      c->ws.next_layer().async_handshake(asio::ssl::stream_base::server,
                                         [c](beast::error_code hec) {
                                           if (!hec) ReadRequest(c);
                                         });
      Accept();
    });
  }
  static void ReadRequest(const std::shared_ptr<Conn>& c) {
    http::async_read(c->ws.next_layer(), c->buffer, c->request, [c](beast::error_code ec, size_t) {
      if (ec) return;
      if (websocket::is_upgrade(c->request)) {
        c->ws.async_accept(c->request, [c](beast::error_code aec) {
          if (!aec) Echo(c);
        });
        return;
      }
      c->response.result(http::status::ok);
      c->response.body() = "hello over https";
      c->response.keep_alive(false);
      c->response.prepare_payload();
      http::async_write(c->ws.next_layer(), c->response, [c](beast::error_code, size_t) {
        c->ws.next_layer().async_shutdown([c](beast::error_code) {});
      });
    });
  }
  static void Echo(const std::shared_ptr<Conn>& c) {
    c->buffer.consume(c->buffer.size());
    c->ws.async_read(c->buffer, [c](beast::error_code ec, size_t) {
      if (ec) return;
      c->ws.text(c->ws.got_text());
      c->ws.async_write(c->buffer.data(), [c](beast::error_code wec, size_t) {
        if (!wec) Echo(c);
      });
    });
  }

  asio::ssl::context ctx_;  // outlives the connections, which the io_context destroys
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

class ClientTlsTest : public ::testing::Test {
 protected:
  // A certificate for `dns`/`ips`, a server presenting it, and its path as a CA file.
  std::string Serve(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
    auto cert = MakeSelfSignedCert(dns, ips);
    EXPECT_TRUE(cert.ok()) << cert.status().ToString();
    if (!cert.ok()) return "";
    server_ = std::make_unique<TlsTestServer>(*cert);
    auto path = WriteTestCert(*cert, dir_, "server" + std::to_string(++certs_));
    EXPECT_TRUE(path.ok());
    return path.ok() ? *path : "";
  }
  // A CA file with a certificate the server does not use.
  std::string OtherCa() {
    auto cert = MakeSelfSignedCert({"localhost"}, {"127.0.0.1"});
    EXPECT_TRUE(cert.ok());
    auto path = WriteTestCert(*cert, dir_, "other" + std::to_string(++certs_));
    return path.ok() ? *path : "";
  }
  std::string Url(const std::string& host = "127.0.0.1") const {
    return "wss://" + host + ":" + std::to_string(server_->port());
  }

  // Connects; on success sends `text` and returns the echo.
  Result<std::string> Echo(const std::string& url, const std::string& ca_file,
                           const std::string& text = "hello over wss") {
    client::ConnectOptions o;
    o.url = url;
    o.ca_file = ca_file;
    o.connect_timeout_ms = 20000;
    auto conn = client::Connection::Create(loop_, o);
    auto echoed = std::make_shared<std::promise<std::string>>();
    conn->SetRawFrameHandler([echoed](std::string frame) { echoed->set_value(std::move(frame)); });
    std::promise<Status> connected;
    conn->Connect([&connected](Status st) { connected.set_value(std::move(st)); });
    auto cf = connected.get_future();
    if (cf.wait_for(30s) != std::future_status::ready) return Status(Code::kInternal, "hung");
    Status st = cf.get();
    if (!st.ok()) return st;
    auto ef = echoed->get_future();
    conn->SendRaw(text);
    const bool got = ef.wait_for(30s) == std::future_status::ready;
    conn->Close();
    if (!got) return Status(Code::kInternal, "no echo");
    return ef.get();
  }

  client::EventLoop loop_{1};
  const test::TempDir tmp_{"parley-tls-test-"};
  const std::string dir_ = tmp_.path();
  int certs_ = 0;
  std::unique_ptr<TlsTestServer> server_;
};

TEST_F(ClientTlsTest, ConnectsWhenTheCaFileTrustsTheServer) {
  const std::string ca = Serve({"localhost"}, {"127.0.0.1"});
  auto by_ip = Echo(Url("127.0.0.1"), ca);
  ASSERT_TRUE(by_ip.ok()) << by_ip.status().ToString();
  EXPECT_EQ(*by_ip, "hello over wss");
  // By name: SNI and the DNS entry of the certificate.
  auto by_name = Echo(Url("localhost"), ca, "again");
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(*by_name, "again");
}

TEST_F(ClientTlsTest, BlockingClientSpeaksWss) {
  const std::string ca = Serve({"localhost"}, {"127.0.0.1"});
  client::ConnectOptions o;
  o.url = Url();
  o.ca_file = ca;
  client::BlockingClient c(o, 30s);
  Status st = c.Connect();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(c.open());
  c.Close();
}

TEST_F(ClientTlsTest, RefusesAnUntrustedCertificate) {
  Serve({"localhost"}, {"127.0.0.1"});
  // The system CAs do not know a self-signed certificate.
  auto system = Echo(Url(), "");
  ASSERT_FALSE(system.ok());
  EXPECT_TRUE(client::IsTransportError(system.status())) << system.status().ToString();
  EXPECT_NE(system.status().message().find("certificate"), std::string::npos)
      << system.status().ToString();
  // Nor does a CA file holding another certificate.
  auto other = Echo(Url(), OtherCa());
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("certificate"), std::string::npos)
      << other.status().ToString();
}

TEST_F(ClientTlsTest, RefusesACertificateForAnotherHost) {
  const std::string ca = Serve({"chat.example.org"}, {});
  auto r = Echo(Url("127.0.0.1"), ca);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("mismatch"), std::string::npos) << r.status().ToString();
  // A certificate for the IP address only does not cover the name "localhost" either.
  const std::string ip_only = Serve({}, {"127.0.0.1"});
  EXPECT_TRUE(Echo(Url("127.0.0.1"), ip_only).ok());
  auto by_name = Echo(Url("localhost"), ip_only);
  ASSERT_FALSE(by_name.ok());
  EXPECT_NE(by_name.status().message().find("mismatch"), std::string::npos)
      << by_name.status().ToString();
}

TEST_F(ClientTlsTest, UnreadableCaFileIsAnError) {
  Serve({"localhost"}, {"127.0.0.1"});
  auto r = Echo(Url(), dir_ + "/no-such-file.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
}

TEST_F(ClientTlsTest, HttpsRequestVerifiesToo) {
  const std::string ca = Serve({"localhost"}, {"127.0.0.1"});
  client::HttpRequestSpec spec;
  spec.port = server_->port();
  spec.path = "/metrics";
  spec.tls = true;
  spec.ca_file = ca;
  spec.timeout_s = 20;
  auto ok = client::HttpRequest(spec);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "hello over https");

  spec.ca_file = OtherCa();
  auto untrusted = client::HttpRequest(spec);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.status().message().find("certificate"), std::string::npos)
      << untrusted.status().ToString();

  spec.ca_file = ca;
  spec.host = "localhost";
  const std::string ip_only = Serve({}, {"127.0.0.1"});
  spec.ca_file = ip_only;
  spec.port = server_->port();
  auto mismatch = client::HttpRequest(spec);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("mismatch"), std::string::npos)
      << mismatch.status().ToString();
}

TEST_F(ClientTlsTest, PlainWsStillWorks) {
  ServerOptions opts;
  opts.config_toml = "[accounts]\npassword_hash = \"min\"\n";
  auto server = ServerProcess::Start(opts);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  client::ConnectOptions o;
  o.url = (*server)->url();
  client::BlockingClient c(o, 30s);
  ASSERT_TRUE(c.Connect().ok());
  auto reg = c.Register("plain", "plain-password");
  EXPECT_TRUE(reg.ok()) << reg.status().ToString();
  // Plain HTTP too (the admin and metrics client).
  int code = 0;
  EXPECT_TRUE((*server)->HttpGet("/metrics", &code).ok());
  EXPECT_EQ(code, 200);
}

}  // namespace
}  // namespace parley::testing
