// The heartbeat of ReliableClient against a minimal WebSocket server that can go silent —
// what a frozen parleyd (SIGSTOP) or a cut network looks like from the client: the TCP
// connection stays up, nothing comes back. The server here speaks just enough of the
// protocol (auth, sync, ping) by hand, so the test needs no parleyd; the real-server
// version is tests/faults_freeze_test.cc.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/reliable_client.h"
#include "tests/support/waiting.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;

// One connection at a time; answers auth, sync and ping until Freeze(), then reads and
// answers nothing (the socket stays open, as under a stopped process). Unfreeze() lets
// the next connection be served normally.
class FreezableServer {
 public:
  FreezableServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FreezableServer() {
    stop_ = true;
    thread_.join();
    for (int fd : frozen_fds_) ::close(fd);
    ::close(listen_fd_);
  }

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/ws"; }
  void Freeze() { frozen_ = true; }
  void Unfreeze() { frozen_ = false; }
  int accepted() const { return accepted_.load(); }
  int pings() const { return pings_.load(); }

 private:
  // Waits until fd is readable or the server stops; false on stop/timeout.
  bool Readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
  }

  void Run() {
    while (!stop_) {
      if (!Readable(listen_fd_, 20)) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      Serve(fd);
    }
  }

  // Serves one connection until it closes, the server stops, or it freezes (then the
  // socket is kept open and never read again).
  void Serve(int fd) {
    std::string in;
    if (!Handshake(fd, in)) {
      ::close(fd);
      return;
    }
    while (!stop_) {
      if (frozen_) {
        frozen_fds_.push_back(fd);
        return;
      }
      if (!Readable(fd, 20)) continue;
      char buf[4096];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      std::string text;
      int opcode = 0;
      while (NextFrame(in, &opcode, &text)) {
        if (opcode == 8) {  // close
          ::close(fd);
          return;
        }
        if (opcode == 1 && !frozen_) Answer(fd, text);
      }
    }
    ::close(fd);
  }

  bool Handshake(int fd, std::string& in) {
    while (in.find("\r\n\r\n") == std::string::npos) {
      if (stop_ || !Readable(fd, 5000)) return false;
      char buf[2048];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return false;
      in.append(buf, static_cast<size_t>(n));
    }
    const std::string header = "Sec-WebSocket-Key: ";
    size_t at = in.find(header);
    if (at == std::string::npos) return false;
    size_t end = in.find("\r\n", at);
    std::string key = in.substr(at + header.size(), end - at - header.size());
    key += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    unsigned char accept[64];
    int len = EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
    Write(fd,
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
              std::string(reinterpret_cast<char*>(accept), static_cast<size_t>(len)) + "\r\n\r\n");
    in.erase(0, in.find("\r\n\r\n") + 4);
    return true;
  }

  // Takes one complete (masked, unfragmented) client frame off `in`.
  static bool NextFrame(std::string& in, int* opcode, std::string* payload) {
    if (in.size() < 2) return false;
    const auto* b = reinterpret_cast<const unsigned char*>(in.data());
    *opcode = b[0] & 0x0f;
    uint64_t len = b[1] & 0x7f;
    size_t pos = 2;
    if (len == 126) {
      if (in.size() < 4) return false;
      len = (uint64_t{b[2]} << 8) | b[3];
      pos = 4;
    } else if (len == 127) {
      if (in.size() < 10) return false;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
      pos = 10;
    }
    const bool masked = b[1] & 0x80;
    const size_t need = pos + (masked ? 4 : 0) + len;
    if (in.size() < need) return false;
    payload->assign(in, pos + (masked ? 4 : 0), len);
    if (masked) {
      for (size_t i = 0; i < len; ++i) (*payload)[i] ^= static_cast<char>(b[pos + (i % 4)]);
    }
    in.erase(0, need);
    return true;
  }

  void Answer(int fd, const std::string& request) {
    auto field = [&](const std::string& name) {
      size_t at = request.find("\"" + name + "\":");
      if (at == std::string::npos) return std::string();
      at += name.size() + 3;
      size_t end = request.find_first_of(",}", at);
      return request.substr(at, end - at);
    };
    const std::string op = field("op");
    const std::string id = field("id");
    std::string reply;
    if (op == "\"auth\"") {
      reply = R"({"ok":true,"user":1,"name":"alice","device":"d1","token":"t")";
    } else if (op == "\"sync\"") {
      reply = R"({"ok":true,"events":[],"next":0,"has_more":false)";
    } else if (op == "\"ping\"") {
      ++pings_;
      reply = R"({"ok":true)";
    } else {
      reply = R"({"ok":false,"error":{"code":"invalid_argument","message":"test server"})";
    }
    reply += ",\"id\":" + id + "}";
    std::string frame;
    frame.push_back(static_cast<char>(0x81));
    if (reply.size() < 126) {
      frame.push_back(static_cast<char>(reply.size()));
    } else {
      frame.push_back(static_cast<char>(126));
      frame.push_back(static_cast<char>(reply.size() >> 8));
      frame.push_back(static_cast<char>(reply.size() & 0xff));
    }
    Write(fd, frame + reply);
  }

  static void Write(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> frozen_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> pings_{0};
  std::vector<int> frozen_fds_;  // the server thread's only
};

struct Transitions {
  std::mutex mu;
  std::vector<std::pair<bool, std::string>> seen;  // (connected, why)
  size_t count(bool connected) {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (auto& [c, why] : seen) n += c == connected;
    return n;
  }
  std::string last_why() {
    std::lock_guard<std::mutex> lock(mu);
    return seen.empty() ? "" : seen.back().second;
  }
};

ReliableClient::Options HeartbeatOptions(const FreezableServer& server, Transitions* t,
                                         int64_t idle_ms, int64_t timeout_ms) {
  ReliableClient::Options o;
  o.connect.url = server.url();
  o.connect.connect_timeout_ms = 2000;
  o.call_timeout = 2s;
  o.backoff_min_ms = 20;
  o.backoff_max_ms = 100;
  o.heartbeat_idle_ms = idle_ms;
  o.heartbeat_timeout_ms = timeout_ms;
  o.on_connection = [t](bool connected, const Status& why) {
    std::lock_guard<std::mutex> lock(t->mu);
    t->seen.emplace_back(connected, why.ToString());
  };
  return o;
}

MemoryStateStore* Stored(MemoryStateStore* store) {
  SessionState s;
  s.token = "t";
  EXPECT_TRUE(store->Save(s).ok());
  return store;
}

TEST(ReliableHeartbeat, FrozenServerIsNoticedAndReplaced) {
  FreezableServer server;
  Transitions t;
  MemoryStateStore store;
  ReliableClient client(HeartbeatOptions(server, &t, 300, 300), Stored(&store),
                        [](const SyncItem&) {});
  client.Start();
  ASSERT_TRUE(test::WaitUntil([&] { return t.count(true) == 1; }, 10s));
  // A live server answers the heartbeat: the connection stays.
  ASSERT_TRUE(test::WaitUntil([&] { return server.pings() >= 2; }, 10s));
  EXPECT_EQ(t.count(false), 0u);
  EXPECT_EQ(client.heartbeats_missed(), 0u);

  server.Freeze();
  const auto frozen_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(test::WaitUntil([&] { return t.count(false) == 1; }, 20s))
      << "a frozen server went unnoticed";
  const auto noticed_after = std::chrono::steady_clock::now() - frozen_at;
  EXPECT_NE(t.last_why().find("heartbeat unanswered"), std::string::npos) << t.last_why();
  EXPECT_EQ(client.heartbeats_missed(), 1u);
  // Idle 300 ms + timeout 300 ms, plus the 75 ms tick: well under the bound below.
  EXPECT_LT(noticed_after, 10s);

  server.Unfreeze();
  ASSERT_TRUE(test::WaitUntil([&] { return t.count(true) == 2; }, 20s)) << t.last_why();
  EXPECT_GE(server.accepted(), 2);
  client.Stop();
}

TEST(ReliableHeartbeat, ZeroTurnsItOff) {
  FreezableServer server;
  Transitions t;
  MemoryStateStore store;
  ReliableClient client(HeartbeatOptions(server, &t, 0, 300), Stored(&store),
                        [](const SyncItem&) {});
  client.Start();
  ASSERT_TRUE(test::WaitUntil([&] { return t.count(true) == 1; }, 10s));
  server.Freeze();
  // Without a heartbeat nothing notices the silence (which is why it is on by default).
  EXPECT_FALSE(test::WaitUntil([&] { return t.count(false) > 0; }, 1500ms, 50ms));
  EXPECT_EQ(client.heartbeats_sent(), 0u);
  EXPECT_EQ(server.pings(), 0);
  client.Stop();
}

TEST(ReliableHeartbeat, DefaultsMatchTheTypeScriptSdk) {
  ReliableClient::Options o;
  EXPECT_EQ(o.heartbeat_idle_ms, 20000);
  EXPECT_EQ(o.heartbeat_timeout_ms, 10000);
}

}  // namespace
}  // namespace parley::client
