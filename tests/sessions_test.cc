// Sessions that really end: a revoked or replaced credential closes every live connection
// that uses it (close code 4001), password.change / devices / device.revoke, the admin
// revoke (HTTP and CLI), token lifetime with sliding expiry, and the per-user session cap
// (the oldest goes with 4002). A real parleyd over real WebSockets.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/http_request.h"
#include "tests/support/command.h"
#include "tests/support/gateway_fixture.h"

namespace parley {
namespace {

using client::BlockingClient;
using testing::GatewayFixture;
using namespace std::chrono_literals;

constexpr char kAdminToken[] = "sessions-admin-token-0123456789";
constexpr int kRevoked = 4001;
constexpr int kTooMany = 4002;
constexpr auto kCloseWait = 20s;

// Runs the `parley` CLI; returns its exit code and its output in *out.
int RunCli(const std::string& args, std::string* out = nullptr) {
  const std::string cmd = std::string(PARLEY_CLI_PATH) + " " + args + " 2>&1";
  return test::RunCommand(cmd, out);
}

class SessionsTest : public GatewayFixture {
 protected:
  void SetUp() override {
    StartServer(std::string("[admin]\ntoken = \"") + kAdminToken +
                "\"\n[limits]\nmax_sessions_per_user = 4\nauth_rate_per_conn = 0\n");
  }

  // A second connection resuming `login`'s token (same user, same device).
  std::unique_ptr<BlockingClient> Resume(const LoginReply& login) {
    auto c = Connect();
    auto r = c->Auth(login.token);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return c;
  }
  // The code `c` was closed with (waits for the close); -1 if it stayed open.
  static int ClosedWith(BlockingClient& c) {
    if (!c.WaitClosed(kCloseWait)) return -1;
    return c.close_code();
  }
  // Whether a fresh connection can authenticate with `token`.
  Code AuthCode(const std::string& token) {
    auto c = Connect();
    auto r = c->Auth(token);
    return r.ok() ? Code::kOk : r.status().code();
  }
  static Code CodeOf(const Result<std::string>& r) {
    return r.ok() ? Code::kOk : r.status().code();
  }
  static Result<std::string> ChangePassword(BlockingClient& c, const std::string& old_pw,
                                            const std::string& new_pw) {
    return c.CallRaw("password.change", [&](JsonWriter& w) {
      w.Key("old_password").String(old_pw).Key("new_password").String(new_pw);
    });
  }
  static Result<std::string> RevokeDevice(BlockingClient& c, const std::string& device) {
    return c.CallRaw("device.revoke", [&](JsonWriter& w) { w.Key("device").String(device); });
  }
  client::HttpResponse Admin(const std::string& method, const std::string& path,
                             const std::string& token = kAdminToken) {
    client::HttpRequestSpec spec;
    spec.port = server_->port();
    spec.method = method;
    spec.path = path;
    if (!token.empty()) spec.headers.emplace_back("Authorization", "Bearer " + token);
    spec.timeout_s = 60;
    auto r = client::HttpRequest(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : client::HttpResponse{};
  }
};

TEST_F(SessionsTest, LogoutClosesOtherConnectionsOfTheSameToken) {
  LoginReply login;
  auto owner = Device("alice", "phone", &login);
  auto second = Resume(login);
  auto bob = Device("bob", "laptop");
  // Before: the second connection gets pushes.
  ASSERT_TRUE(bob->SendTo("alice", "before").ok());
  ASSERT_EQ(MessagePushes(*second, 1).size(), 1u);
  ASSERT_EQ(MessagePushes(*owner, 1).size(), 1u);

  ASSERT_TRUE(owner->Logout().ok());
  EXPECT_EQ(ClosedWith(*second), kRevoked);
  EXPECT_NE(second->close_status().message().find("session revoked: logout"), std::string::npos)
      << second->close_status().ToString();
  EXPECT_FALSE(second->Send(1, "after").ok());
  EXPECT_FALSE(second->Sync(0).ok());
  // The connection that logged out stays, unauthenticated, and gets no push.
  EXPECT_TRUE(owner->open());
  EXPECT_EQ(owner->Sync(0).status().code(), Code::kUnauthenticated);
  ASSERT_TRUE(bob->SendTo("alice", "after").ok());
  EXPECT_TRUE(MessagePushes(*owner, 1, 1s).empty());
  EXPECT_EQ(AuthCode(login.token), Code::kUnauthenticated);
}

TEST_F(SessionsTest, LoginOnTheSameDeviceIdClosesTheOldSessions) {
  LoginReply first;
  auto old1 = Device("alice", "phone", &first);
  auto old2 = Resume(first);
  auto laptop = Device("alice", "laptop");
  auto fresh = Connect();
  auto l = fresh->Login("alice", "alice-password", "phone");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(ClosedWith(*old1), kRevoked);
  EXPECT_EQ(ClosedWith(*old2), kRevoked);
  EXPECT_NE(old1->close_status().message().find("device replaced"), std::string::npos);
  EXPECT_EQ(AuthCode(first.token), Code::kUnauthenticated);
  // The new login and the other device keep working.
  EXPECT_TRUE(fresh->Sync(0).ok());
  EXPECT_TRUE(laptop->Sync(0).ok());
}

TEST_F(SessionsTest, PasswordChangeKeepsTheCallerAndEndsEveryOtherDevice) {
  LoginReply phone_login, laptop_login;
  auto phone = Device("alice", "phone", &phone_login);
  auto phone2 = Resume(phone_login);
  auto laptop = Device("alice", "laptop", &laptop_login);

  // Refusals: wrong old password, bad new one, missing field. Nothing changes.
  EXPECT_EQ(CodeOf(ChangePassword(*phone, "not-the-password", "brand new password")),
            Code::kUnauthenticated);
  EXPECT_EQ(CodeOf(ChangePassword(*phone, "alice-password", "short")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(phone->CallRaw("password.change",
                                  [](JsonWriter& w) { w.Key("old_password").String("x"); })),
            Code::kBadRequest);
  EXPECT_TRUE(laptop->Sync(0).ok());
  EXPECT_EQ(AuthCode(laptop_login.token), Code::kOk);

  auto changed = ChangePassword(*phone, "alice-password", "brand new password");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(*changed).value("revoked", -1), 1) << *changed;
  EXPECT_EQ(ClosedWith(*laptop), kRevoked);
  EXPECT_NE(laptop->close_status().message().find("password changed"), std::string::npos);
  EXPECT_EQ(AuthCode(laptop_login.token), Code::kUnauthenticated);
  // The caller's device stays logged in, on both its connections.
  EXPECT_TRUE(phone->Sync(0).ok());
  EXPECT_TRUE(phone2->Sync(0).ok());
  EXPECT_EQ(AuthCode(phone_login.token), Code::kOk);
  // Old password out, new password in.
  auto c = Connect();
  EXPECT_EQ(c->Login("alice", "alice-password", "laptop").status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(c->Login("alice", "brand new password", "laptop").ok());
  // Unauthenticated connections cannot change passwords.
  auto anon = Connect();
  EXPECT_EQ(CodeOf(ChangePassword(*anon, "brand new password", "another new one")),
            Code::kUnauthenticated);
}

TEST_F(SessionsTest, DevicesListsTheUsersDevices) {
  auto phone = Device("alice", "phone");
  auto laptop = Device("alice", "laptop");
  auto bob = Device("bob", "phone");
  auto reply = phone->CallRaw("devices", [](JsonWriter&) {});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  auto j = nlohmann::json::parse(*reply);
  ASSERT_TRUE(j["devices"].is_array()) << *reply;
  ASSERT_EQ(j["devices"].size(), 2u) << *reply;
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& d : j["devices"]) by_id[d.value("device", "")] = d;
  ASSERT_EQ(by_id.count("phone"), 1u);
  ASSERT_EQ(by_id.count("laptop"), 1u);
  EXPECT_TRUE(by_id["phone"].value("current", false));
  EXPECT_FALSE(by_id["laptop"].value("current", true));
  for (auto& [id, d] : by_id) {
    EXPECT_GT(d.value("created_ms", int64_t{0}), 1'600'000'000'000) << id;
    EXPECT_GE(d.value("last_seen_ms", int64_t{0}), d.value("created_ms", int64_t{0})) << id;
  }
}

TEST_F(SessionsTest, DeviceRevokeEndsThatDevice) {
  auto phone = Device("alice", "phone");
  LoginReply laptop_login;
  auto laptop = Device("alice", "laptop", &laptop_login);
  auto bob = Device("bob", "laptop");
  EXPECT_EQ(CodeOf(RevokeDevice(*phone, "toaster")), Code::kNotFound);
  EXPECT_EQ(CodeOf(RevokeDevice(*phone, "has space")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(phone->CallRaw("device.revoke", [](JsonWriter&) {})), Code::kBadRequest);
  ASSERT_TRUE(RevokeDevice(*phone, "laptop").ok());
  EXPECT_EQ(ClosedWith(*laptop), kRevoked);
  EXPECT_EQ(AuthCode(laptop_login.token), Code::kUnauthenticated);
  EXPECT_TRUE(phone->Sync(0).ok());
  EXPECT_TRUE(bob->Sync(0).ok());  // another user's device of the same name is untouched
  // Revoking one's own device answers, then ends this connection too.
  EXPECT_TRUE(RevokeDevice(*phone, "phone").ok());
  EXPECT_EQ(ClosedWith(*phone), kRevoked);
}

TEST_F(SessionsTest, AdminRevokesEveryDeviceOverHttpAndFromTheCli) {
  LoginReply phone_login;
  auto phone = Device("alice", "phone", &phone_login);
  auto laptop = Device("alice", "laptop");
  auto bob = Device("bob", "phone");

  EXPECT_EQ(Admin("POST", "/admin/users/alice/revoke", "").status, 401);
  EXPECT_EQ(Admin("GET", "/admin/users/alice/revoke").status, 405);
  auto unknown = Admin("POST", "/admin/users/nobody/revoke");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(nlohmann::json::parse(unknown.body, nullptr, false).contains("error"))
      << unknown.body;
  EXPECT_EQ(Admin("POST", "/admin/users//revoke").status, 404);
  EXPECT_TRUE(phone->Sync(0).ok());

  auto r = Admin("POST", "/admin/users/alice/revoke");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body).value("revoked", -1), 2) << r.body;
  EXPECT_EQ(ClosedWith(*phone), kRevoked);
  EXPECT_EQ(ClosedWith(*laptop), kRevoked);
  EXPECT_EQ(AuthCode(phone_login.token), Code::kUnauthenticated);
  EXPECT_TRUE(bob->Sync(0).ok());

  const std::string token_file = server_->data_dir() + "/admin.token";
  std::ofstream(token_file) << kAdminToken << "\n";
  const std::string where = " --admin-url http://127.0.0.1:" + std::to_string(server_->port()) +
                            " --token-file " + token_file;
  std::string out;
  EXPECT_EQ(RunCli("admin user revoke bob" + where, &out), 0) << out;
  EXPECT_NE(out.find("revoked 1 device"), std::string::npos) << out;
  EXPECT_EQ(ClosedWith(*bob), kRevoked);
  EXPECT_NE(RunCli("admin user revoke nobody" + where, &out), 0) << out;
  EXPECT_NE(out.find("404"), std::string::npos) << out;
}

TEST_F(SessionsTest, SessionCapClosesTheOldest) {
  auto first = Device("alice", "d1");
  auto second = Device("alice", "d2");
  auto third = Device("alice", "d3");
  auto fourth = Device("alice", "d4");
  auto bob = Device("bob", "d1");
  EXPECT_TRUE(first->Sync(0).ok());
  auto fifth = Device("alice", "d5");
  EXPECT_EQ(ClosedWith(*first), kTooMany);
  EXPECT_NE(first->close_status().message().find("too many sessions"), std::string::npos);
  for (auto* c : {second.get(), third.get(), fourth.get(), fifth.get(), bob.get()}) {
    EXPECT_TRUE(c->Sync(0).ok());
  }
}

// Token lifetime 4 s (touch interval 0.5 s): used every second, a token outlives it;
// unused for longer, it is refused and deleted.
TEST_F(SessionsTest, TokensExpireWhenUnusedAndSlideOnUse) {
  // Appended to the fixture's [accounts] table (password_hash = "min").
  StartServer("token_ttl_days = 0.0000462963\n");
  LoginReply login;
  { auto c = Device("alice", "phone", &login); }
  // Resumed every second for 6 s: each auth moves the expiry.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(1s);
    ASSERT_EQ(AuthCode(login.token), Code::kOk) << "resume " << i;
  }
  // A live session's requests slide it too.
  {
    auto live = Resume(login);
    for (int i = 0; i < 6; ++i) {
      std::this_thread::sleep_for(1s);
      ASSERT_TRUE(live->Ping().ok()) << i;
    }
  }
  ASSERT_EQ(AuthCode(login.token), Code::kOk);
  // Unused for longer than its lifetime (time passing, not a readiness wait).
  std::this_thread::sleep_for(5500ms);
  auto c = Connect();
  auto r = c->Auth(login.token);
  ASSERT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("expired"), std::string::npos) << r.status().ToString();
  // And deleted: the device is gone, a fresh login works.
  auto devices_of = [&](BlockingClient& who) -> size_t {
    auto d = who.CallRaw("devices", [](JsonWriter&) {});
    return d.ok() ? nlohmann::json::parse(*d)["devices"].size() : 999;
  };
  auto other = Device("alice", "laptop");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (devices_of(*other) != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(devices_of(*other), 1u);
}

}  // namespace
}  // namespace parley
