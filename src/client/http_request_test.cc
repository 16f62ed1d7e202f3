// HttpRequest against a one-shot raw-socket server: chunked, length-delimited and
// close-delimited bodies, the request as sent, and the deadline.
#include "client/http_request.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace parley::client {
namespace {

// Listens on a free loopback port; Serve() answers one connection with `response` after
// reading the request head (and a body of `body_bytes`), then closes unless told to hang.
class OneShotServer {
 public:
  OneShotServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }

  uint16_t port() const { return port_; }
  // What the client sent (valid after the request returned).
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

  void Serve(std::string response, size_t body_bytes = 0, bool hang = false) {
    thread_ = std::thread([this, response = std::move(response), body_bytes, hang] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      for (;;) {
        const size_t head = request_.find("\r\n\r\n");
        if (head != std::string::npos && request_.size() >= head + 4 + body_bytes) break;
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
      }
      if (hang) {  // until the client gives up
        while (::recv(c, buf, sizeof(buf), 0) > 0) {
        }
      } else {
        (void)::send(c, response.data(), response.size(), MSG_NOSIGNAL);
      }
      ::close(c);
    });
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

HttpRequestSpec SpecFor(const OneShotServer& server, const std::string& path = "/x") {
  HttpRequestSpec spec;
  spec.port = server.port();
  spec.path = path;
  spec.timeout_s = 10;
  return spec;
}

TEST(HttpRequestTest, ReadsAChunkedBody) {
  OneShotServer server;
  server.Serve(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n7\r\n, world\r\n1;ext=1\r\n!\r\n0\r\n\r\n");
  auto r = HttpRequest(SpecFor(server));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello, world!");
}

TEST(HttpRequestTest, ReadsALengthDelimitedBodyAndNothingAfterIt) {
  OneShotServer server;
  server.Serve("HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!trailing-garbage");
  auto r = HttpRequest(SpecFor(server));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "nope!");
}

TEST(HttpRequestTest, ReadsABodyEndedByClose) {
  OneShotServer server;
  server.Serve("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
  auto r = HttpRequest(SpecFor(server));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "until the end");
}

TEST(HttpRequestTest, SendsMethodHeadersAndBody) {
  OneShotServer server;
  server.Serve("HTTP/1.1 204 No Content\r\n\r\n", 7);
  HttpRequestSpec spec = SpecFor(server, "/admin/backup?x=1");
  spec.method = "POST";
  spec.headers.push_back({"Authorization", "Bearer t0k"});
  spec.body = "{\"a\":1}";
  auto r = HttpRequest(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  const std::string sent = server.request();
  EXPECT_EQ(sent.rfind("POST /admin/backup?x=1 HTTP/1.1\r\n", 0), 0u) << sent;
  EXPECT_NE(sent.find("Authorization: Bearer t0k\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("Connection: close\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("Content-Length: 7\r\n"), std::string::npos) << sent;
  EXPECT_EQ(sent.substr(sent.size() - 7), "{\"a\":1}");
}

TEST(HttpRequestTest, ASilentServerTimesOut) {
  OneShotServer server;
  server.Serve("", 0, /*hang=*/true);
  HttpRequestSpec spec = SpecFor(server);
  spec.timeout_s = 1;
  auto start = std::chrono::steady_clock::now();
  auto r = HttpRequest(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HttpRequestTest, NoServerIsUnavailable) {
  uint16_t port = 0;
  {
    OneShotServer closed;  // bound, then closed: nothing listens on the port any more
    port = closed.port();
  }
  HttpRequestSpec spec;
  spec.port = port;
  auto r = HttpRequest(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
}

TEST(HttpRequestTest, GarbageIsNotAResponse) {
  OneShotServer server;
  server.Serve("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  auto r = HttpRequest(SpecFor(server));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError) << r.status().ToString();
}

}  // namespace
}  // namespace parley::client
