// A whole node in-process: started on a free loopback port with a temporary data
// directory, driven over real WebSockets by the client library, stopped, and started
// again on the same directory.
#include "server/node.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "client/blocking_client.h"
#include "tests/support/temp_dir.h"

namespace parley {
namespace {

using namespace std::chrono_literals;

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.data_dir = dir_ + "/data";
    config_.gateway.listen_host = "127.0.0.1";
    config_.gateway.listen_port = 0;  // any free port
    config_.service.password_cost = PasswordCost::kMinimum;
  }
  std::unique_ptr<Node> StartNode() {
    auto node = Node::Start(config_);
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    return node.ok() ? std::move(*node) : nullptr;
  }
  std::unique_ptr<client::BlockingClient> Connect(const Node& node) {
    client::ConnectOptions options;
    options.url = "ws://127.0.0.1:" + std::to_string(node.port());
    auto c = std::make_unique<client::BlockingClient>(options, 20s);
    Status st = c->Connect();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return c;
  }
  // Registers `name` and logs in on `device`; the login's token.
  std::string Join(client::BlockingClient& c, const std::string& name, const std::string& device) {
    auto reg = c.Register(name, name + "-password");
    EXPECT_TRUE(reg.ok()) << reg.status().ToString();
    auto login = c.Login(name, name + "-password", device);
    EXPECT_TRUE(login.ok()) << login.status().ToString();
    return login.ok() ? login->token : "";
  }

  test::TempDir temp_{"parley-node-"};
  const std::string dir_ = temp_.path();
  ServerConfig config_;
};

TEST_F(NodeTest, ServesAClientThenKeepsItsMessagesAcrossARestart) {
  std::string bob_token;
  SendAck sent;
  {
    auto node = StartNode();
    ASSERT_NE(node, nullptr);
    ASSERT_NE(node->port(), 0);
    auto alice = Connect(*node);
    auto bob = Connect(*node);
    Join(*alice, "alice", "laptop");
    bob_token = Join(*bob, "bob", "phone");
    auto ack = alice->SendTo("bob", "hello from a node in a test");
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    sent = *ack;

    // The push reaches bob through the commit feed and the hub.
    std::optional<SyncItem> pushed;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!pushed && std::chrono::steady_clock::now() < deadline) {
      auto p = bob->NextPush(100ms);
      if (p && p->kind == Push::Kind::kEvent && p->item.event.type == EventType::kMessage) {
        pushed = p->item;
      }
    }
    ASSERT_TRUE(pushed.has_value());
    ASSERT_TRUE(pushed->message.has_value());
    EXPECT_EQ(pushed->message->body, "hello from a node in a test");
    EXPECT_EQ(pushed->event.conv_id, sent.conv_id);
    EXPECT_GE(node->feed().stats().delivered, 1u);
    alice->Close();
    bob->Close();
    node->Stop();
    node->Stop();  // twice is harmless
  }

  // Same directory, a new node: the token and the message are still there.
  auto node = StartNode();
  ASSERT_NE(node, nullptr);
  auto bob = Connect(*node);
  auto auth = bob->Auth(bob_token, "phone");
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  auto history = bob->History(sent.conv_id);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->messages.size(), 1u);
  EXPECT_EQ(history->messages[0].body, "hello from a node in a test");
  EXPECT_EQ(history->messages[0].msg_id, sent.msg_id);
}

TEST_F(NodeTest, AFailedStartSaysWhyAndLeavesNothingRunning) {
  config_.backup.target = dir_ + "/backups";
  config_.backup.key_file = dir_ + "/no-such.key";  // unreadable: Start fails at backups
  auto node = Node::Start(config_);
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("backups"), std::string::npos) << node.status().ToString();
  // The store was closed on the way out: another node opens it at once.
  config_.backup = backup::BackupConfig();
  auto again = StartNode();
  EXPECT_NE(again, nullptr);
}

}  // namespace
}  // namespace parley
