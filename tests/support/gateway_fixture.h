// GatewayFixture: a test fixture with a real parleyd on a free loopback port (fast password
// hashing) and helpers to connect devices over real WebSockets. Every wait is bounded.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/blocking_client.h"
#include "tests/support/server_process.h"

namespace parley::testing {

using client::BlockingClient;
using client::ConnectOptions;
using namespace std::chrono_literals;

constexpr char kFastHashes[] = "[accounts]\npassword_hash = \"min\"\n";

class GatewayFixture : public ::testing::Test {
 protected:
  void StartServer(const std::string& extra_config = "") {
    ServerOptions opts;
    opts.config_toml = std::string(kFastHashes) + extra_config;
    auto s = ServerProcess::Start(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  void SetUp() override { StartServer(); }

  ConnectOptions Options() const {
    ConnectOptions o;
    o.url = server_->url();
    return o;
  }
  std::unique_ptr<BlockingClient> Connect() {
    auto c = std::make_unique<BlockingClient>(Options(), 30s);
    Status st = c->Connect();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return c;
  }
  // A connected device of `name` (registered on first use).
  std::unique_ptr<BlockingClient> Device(const std::string& name, const std::string& device,
                                         LoginReply* login = nullptr) {
    auto c = Connect();
    auto reg = c->Register(name, name + "-password");
    EXPECT_TRUE(reg.ok() || reg.status().code() == Code::kAlreadyExists) << reg.status().ToString();
    auto l = c->Login(name, name + "-password", device);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (login && l.ok()) *login = *l;
    return c;
  }
  // Pushed message events until `count` arrived or the deadline passed.
  static std::vector<SyncItem> MessagePushes(BlockingClient& c, size_t count,
                                             std::chrono::milliseconds deadline = 20s) {
    std::vector<SyncItem> out;
    auto end = std::chrono::steady_clock::now() + deadline;
    while (out.size() < count && std::chrono::steady_clock::now() < end) {
      auto p = c.NextPush(100ms);
      if (p && p->kind == Push::Kind::kEvent && p->item.event.type == EventType::kMessage) {
        out.push_back(p->item);
      }
    }
    return out;
  }

  std::unique_ptr<ServerProcess> server_;
};

}  // namespace parley::testing
