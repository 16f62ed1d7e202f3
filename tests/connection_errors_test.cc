// The gateway's fail(): connections that end as connections do (a close, a client
// leaving, a keep-alive client going away) are not counted as errors, while a broken
// request or an over-limit frame is, in parley_http_errors_total /
// parley_ws_errors_total{what}. Against a real parleyd.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "tests/support/gateway_fixture.h"

namespace parley::testing {
namespace {

// Sends `data` on a fresh loopback connection to `port`, then waits for the server to
// close it (or 10 s). With no data it leaves at once.
void SendAndWaitForClose(uint16_t port, const std::string& data) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  if (data.empty()) {
    ::close(fd);
    return;
  }
  ASSERT_GT(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), 0);
  char buf[4096];
  while (::recv(fd, buf, sizeof(buf), 0) > 0) {
  }
  ::close(fd);
}

class ConnectionErrorsTest : public GatewayFixture {
 protected:
  // The value of `series` (name and labels) in /metrics, -1 if absent.
  double Value(const std::string& series) {
    auto text = server_->HttpGet("/metrics");
    if (!text.ok()) return -1;
    size_t at = text->find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::strtod(text->c_str() + at + series.size() + 2, nullptr);
  }
  // Sum of every step of both error families.
  double AllErrors() {
    double sum = 0;
    for (const char* what : {"tls_handshake", "read", "write"}) {
      sum += Value(std::string("parley_http_errors_total{what=\"") + what + "\"}");
    }
    for (const char* what : {"handshake", "read", "write", "close"}) {
      sum += Value(std::string("parley_ws_errors_total{what=\"") + what + "\"}");
    }
    return sum;
  }
  // Waits until `series` reaches `at_least` (the server counts after the client sees the
  // close).
  bool WaitFor(const std::string& series, double at_least) {
    auto end = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < end) {
      if (Value(series) >= at_least) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  // Waits until the server holds no connection but the scrape's own.
  void WaitIdle() {
    auto end = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < end && Value("parley_connections") > 1) {
      std::this_thread::sleep_for(20ms);
    }
  }
};

TEST_F(ConnectionErrorsTest, OrdinaryEndsAreNotCounted) {
  ASSERT_EQ(AllErrors(), 0);
  {
    auto closed = Device("alice", "phone");  // logs in, then closes with 1000
    closed->Close();
  }
  {
    auto aborted = Device("alice", "laptop");  // drops the TCP connection, no close frame
    aborted->Abort();
  }
  SendAndWaitForClose(server_->port(), "");  // connects and leaves without a request
  SendAndWaitForClose(server_->port(),
                      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  WaitIdle();
  EXPECT_EQ(AllErrors(), 0);
}

TEST_F(ConnectionErrorsTest, BrokenRequestsAndOversizeFramesAreCounted) {
  SendAndWaitForClose(server_->port(), "NOT HTTP AT ALL\x01\r\n\r\n");
  EXPECT_TRUE(WaitFor("parley_http_errors_total{what=\"read\"}", 1));

  // Over the limit before login (max_frame_bytes_before_auth, 8 KiB): Beast refuses it
  // with 1009 while reading.
  auto c = Connect();
  c->SendRaw(std::string(64 * 1024, 'x'));
  EXPECT_TRUE(c->WaitClosed(10s));
  EXPECT_TRUE(WaitFor("parley_ws_errors_total{what=\"read\"}", 1));
  EXPECT_EQ(Value("parley_ws_errors_total{what=\"write\"}"), 0);
}

}  // namespace
}  // namespace parley::testing
