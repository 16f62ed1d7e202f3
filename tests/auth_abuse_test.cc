// Abuse of the account ops, end to end against a real parleyd: password guessers must not
// starve other users (bounded hash pool), logins back off per account and per IP, an
// unknown name costs as much as a known one, the `users` directory is rate limited, and
// registration follows `[accounts] registration` (open / invite / closed), with invites
// and admin-created users over HTTP and the CLI, and a per-IP registration limit.
//
// Every client here comes from 127.0.0.1, so each test sets the limits it does not test
// out of the way.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/http_request.h"
#include "tests/support/command.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/metrics_text.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using client::BlockingClient;
using client::ConnectOptions;
using testing::GatewayFixture;
using testing::ServerOptions;
using testing::ServerProcess;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kToken[] = "auth-abuse-admin-token-0123456789";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Runs the `parley` CLI with `env` before it; returns its exit code, its output in *out.
int RunCli(const std::string& env, const std::string& args, std::string* out = nullptr,
           const std::string& stdin_text = "") {
  std::string cmd = env + " " + std::string(PARLEY_CLI_PATH) + " " + args + " 2>&1";
  if (!stdin_text.empty()) cmd = "printf '%s\\n' '" + stdin_text + "' | " + cmd;
  return test::RunCommand(cmd, out);
}

// A metric's value from the Prometheus text (0 if absent).
double MetricValue(const std::string& text, const std::string& name) {
  return test::MetricValue(text, name).value_or(0);
}

class AuthAbuseTest : public GatewayFixture {
 protected:
  // Each test starts its own server with its own limits.
  void SetUp() override {}

  // `fast`: cheap password hashes (most tests); false: the real, default cost.
  void Start(const std::string& config, bool fast = true) {
    ServerOptions opts;
    opts.config_toml = (fast ? std::string(testing::kFastHashes) : "") + config;
    auto s = ServerProcess::Start(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }

  // One login attempt; *retry_ms gets the retry hint of a refusal (-1 if none).
  static Status TryLogin(BlockingClient& c, const std::string& name, const std::string& password,
                         int64_t* retry_ms = nullptr) {
    auto r = c.CallRaw(
        "login",
        [&](JsonWriter& w) { w.Key("name").String(name).Key("password").String(password); },
        retry_ms);
    return r.ok() ? Status::Ok() : r.status();
  }
  static Status TryRegister(BlockingClient& c, const std::string& name,
                            const std::string& invite = "", int64_t* retry_ms = nullptr) {
    auto r = c.CallRaw(
        "register",
        [&](JsonWriter& w) {
          w.Key("name").String(name).Key("password").String(name + "-password");
          if (!invite.empty()) w.Key("invite").String(invite);
        },
        retry_ms);
    return r.ok() ? Status::Ok() : r.status();
  }

  client::HttpResponse Admin(const std::string& method, const std::string& path,
                             const std::string& body, const std::string& token = kToken) {
    client::HttpRequestSpec spec;
    spec.port = server_->port();
    spec.method = method;
    spec.path = path;
    spec.body = body;
    if (!token.empty()) spec.headers.emplace_back("Authorization", "Bearer " + token);
    spec.timeout_s = 60;
    auto r = client::HttpRequest(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : client::HttpResponse{};
  }
  std::string NewInvite(int uses, int expires_in_s = 0) {
    auto r = Admin("POST", "/admin/invites",
                   nlohmann::json{{"uses", uses}, {"expires_in_s", expires_in_s}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("token", "") : "";
  }
  std::string CliEnv() const {
    return "PARLEY_ADMIN_TOKEN=" + std::string(kToken) + " PARLEY_HOME=" +
           (fs::temp_directory_path() / ("parley-auth-abuse-" + std::to_string(::getpid())))
               .string() +
           " PARLEY_SERVER=" + server_->url();
  }
};

// ~60 connections guessing one password with real Argon2id hashing. Before: every guess
// queued on the one shared worker pool, so a logged-in user's conv.create and a legitimate
// login waited seconds behind them. Now hashing has its own bounded pool: other work is
// untouched, and a login either gets in or is told `unavailable` at once.
TEST_F(AuthAbuseTest, PasswordGuessersDoNotStarveOthersAndLoginIsAnsweredPromptly) {
  Start(
      "[limits]\nauth_rate_per_conn = 0\nmax_errors = 1000000\n"
      "login_failures_per_account = 0\nlogin_failures_per_ip = 0\n"
      "[accounts]\nhash_queue = 4\n",
      /*fast=*/false);
  for (const char* name : {"victim", "alice", "bob"}) {
    auto c = Connect();
    ASSERT_TRUE(c->Register(name, std::string(name) + "-password").ok()) << name;
  }
  auto alice = Connect();
  ASSERT_TRUE(alice->Login("alice", "alice-password").ok());

  constexpr int kAttackers = 60;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> answered{0};
  std::vector<std::thread> attackers;
  for (int i = 0; i < kAttackers; ++i) {
    attackers.emplace_back([&, i] {
      ConnectOptions o;
      o.url = server_->url();
      int guess = 0;
      const auto end = Clock::now() + 120s;  // bounded, whatever happens
      while (!stop.load() && Clock::now() < end) {
        BlockingClient c(o, 30s);
        if (!c.Connect().ok()) continue;
        while (!stop.load() && c.open() && Clock::now() < end) {
          int64_t retry = -1;
          Status st = TryLogin(
              c, "victim", "guess-" + std::to_string(i) + "-" + std::to_string(guess++), &retry);
          ++answered;
          // A full hash queue answers at once; the pause only spares this 2-core test
          // machine a busy loop (an attacker would not wait, and gains nothing by it).
          if (st.code() == Code::kUnavailable && retry > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(retry, 50)));
          }
        }
      }
    });
  }
  // The attack is under way once every attacker has had a few answers.
  const auto warm = Clock::now() + 60s;
  while (answered.load() < 2 * kAttackers && Clock::now() < warm) std::this_thread::sleep_for(10ms);
  EXPECT_GE(answered.load(), 2 * kAttackers);

  std::vector<double> create_s;
  for (int i = 0; i < 5; ++i) {
    auto t0 = Clock::now();
    auto g = alice->CreateGroup("during the attack " + std::to_string(i), {"bob"});
    create_s.push_back(Seconds(Clock::now() - t0));
    EXPECT_TRUE(g.ok()) << g.status().ToString();
  }
  std::vector<double> login_s;
  int logged_in = 0, busy = 0;
  for (int i = 0; i < 5; ++i) {
    auto bob = Connect();
    auto t0 = Clock::now();
    int64_t retry = -1;
    Status st = TryLogin(*bob, "bob", "bob-password", &retry);
    login_s.push_back(Seconds(Clock::now() - t0));
    if (st.ok()) {
      ++logged_in;
    } else {
      EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
      EXPECT_GT(retry, 0);
      ++busy;
    }
  }
  stop = true;
  for (auto& t : attackers) t.join();
  std::printf(
      "conv.create median %.3f s max %.3f s; login median %.3f s max %.3f s (%d ok, "
      "%d unavailable)\n",
      Median(create_s), *std::max_element(create_s.begin(), create_s.end()), Median(login_s),
      *std::max_element(login_s.begin(), login_s.end()), logged_in, busy);
  // Before: seconds each (60 hashes of ~70 ms queued ahead on 2 workers). Generous bounds.
  EXPECT_LT(Median(create_s), 1.0);
  EXPECT_LT(*std::max_element(login_s.begin(), login_s.end()), 2.5);
  auto metrics = server_->HttpGet("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_GT(MetricValue(*metrics, "parley_login_failures_total"), 0);
  // After the attack a login gets through.
  auto bob = Connect();
  Status st;
  for (int i = 0; i < 50; ++i) {
    int64_t retry = -1;
    st = TryLogin(*bob, "bob", "bob-password", &retry);
    if (st.code() != Code::kUnavailable) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<int64_t>(retry, 1, 500)));
  }
  EXPECT_TRUE(st.ok()) << st.ToString();
}

// After a few failures an account is locked for a time that doubles, up to a cap; the right
// password during the lockout is refused too (that is the point), a success resets it, and
// existing devices (token auth) and other accounts are unaffected.
TEST_F(AuthAbuseTest, AccountLockoutGrowsIsCappedAndResetBySuccess) {
  Start(
      "[limits]\nauth_rate_per_conn = 0\nlogin_failures_per_ip = 0\n"
      "login_failures_per_account = 3\nlogin_backoff_initial_ms = 1000\n"
      "login_backoff_max_account_ms = 2000\n");
  LoginReply alice_phone;
  Device("alice", "phone", &alice_phone);
  Device("carol", "phone");
  auto c = Connect();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(TryLogin(*c, "alice", "wrong").code(), Code::kUnauthenticated) << i;
  }
  // The 4th failure starts a 1 s lockout.
  EXPECT_EQ(TryLogin(*c, "alice", "wrong").code(), Code::kUnauthenticated);
  int64_t retry = -1;
  Status st = TryLogin(*c, "alice", "alice-password", &retry);
  EXPECT_EQ(st.code(), Code::kRateLimited) << st.ToString();
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 1000);
  // Other accounts from the same address, and alice's logged-in devices, carry on.
  EXPECT_TRUE(TryLogin(*Connect(), "carol", "carol-password").ok());
  auto phone = Connect();
  EXPECT_TRUE(phone->Auth(alice_phone.token, "phone").ok());

  // Doubling: the next failure (after the lockout) locks for 2 s, then the cap (2 s) holds.
  std::this_thread::sleep_for(std::chrono::milliseconds(retry + 50));
  EXPECT_EQ(TryLogin(*c, "alice", "wrong").code(), Code::kUnauthenticated);
  st = TryLogin(*c, "alice", "wrong", &retry);
  EXPECT_EQ(st.code(), Code::kRateLimited);
  EXPECT_GT(retry, 1000);
  EXPECT_LE(retry, 2000);
  std::this_thread::sleep_for(std::chrono::milliseconds(retry + 50));
  EXPECT_EQ(TryLogin(*c, "alice", "wrong").code(), Code::kUnauthenticated);
  st = TryLogin(*c, "alice", "wrong", &retry);
  EXPECT_EQ(st.code(), Code::kRateLimited);
  EXPECT_LE(retry, 2000);  // capped

  // A success resets the count: three free failures again.
  std::this_thread::sleep_for(std::chrono::milliseconds(retry + 50));
  EXPECT_TRUE(TryLogin(*Connect(), "alice", "alice-password").ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(TryLogin(*c, "alice", "wrong").code(), Code::kUnauthenticated) << i;
  }
  // Unknown names are limited the same way (no hint of which names exist).
  for (int i = 0; i < 4; ++i) TryLogin(*c, "nobody", "wrong").IgnoreError();
  EXPECT_EQ(TryLogin(*c, "nobody", "wrong").code(), Code::kRateLimited);
  EXPECT_TRUE(c->Ping().ok());  // the connection stays usable
  auto metrics = server_->HttpGet("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_GE(MetricValue(*metrics, "parley_login_failures_total"), 10);
  EXPECT_GE(MetricValue(*metrics, "parley_login_lockouts_total"), 4);
}

// Failures from one address across many names lock that address out (with its own,
// doubling backoff), whatever account it tries next.
TEST_F(AuthAbuseTest, IpLockoutGrowsAcrossAccounts) {
  Start(
      "[limits]\nauth_rate_per_conn = 0\nlogin_failures_per_account = 0\n"
      "login_failures_per_ip = 4\nlogin_backoff_initial_ms = 1000\n"
      "login_backoff_max_ip_ms = 3000\n");
  Device("dave", "laptop");
  auto c = Connect();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(TryLogin(*c, "name" + std::to_string(i), "wrong").code(), Code::kUnauthenticated);
  }
  int64_t retry = -1;
  Status st = TryLogin(*Connect(), "dave", "dave-password", &retry);
  EXPECT_EQ(st.code(), Code::kRateLimited) << st.ToString();
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(retry + 50));
  // A success does not reset the address (or one account of the attacker's own would).
  EXPECT_TRUE(TryLogin(*Connect(), "dave", "dave-password").ok());
  EXPECT_EQ(TryLogin(*c, "name9", "wrong").code(), Code::kUnauthenticated);
  st = TryLogin(*c, "name10", "wrong", &retry);
  EXPECT_EQ(st.code(), Code::kRateLimited);
  EXPECT_GT(retry, 1000);
  EXPECT_LE(retry, 2000);
}

// Before: an unknown name was refused in 0.1 ms, a known one after a ~70 ms hash, which
// told an attacker which names exist. Now both verify a hash of the same cost.
TEST_F(AuthAbuseTest, UnknownNameCostsAboutAsMuchAsAKnownOne) {
  Start(
      "[limits]\nauth_rate_per_conn = 0\nlogin_failures_per_account = 0\n"
      "login_failures_per_ip = 0\nmax_errors = 1000\n",
      /*fast=*/false);
  ASSERT_TRUE(Connect()->Register("known", "known-password").ok());
  auto c = Connect();
  std::vector<double> known, unknown;
  for (int i = 0; i < 9; ++i) {
    auto t0 = Clock::now();
    EXPECT_EQ(TryLogin(*c, "known", "wrong-password").code(), Code::kUnauthenticated);
    known.push_back(Seconds(Clock::now() - t0));
    t0 = Clock::now();
    auto st = TryLogin(*c, "unknown" + std::to_string(i), "wrong-password");
    unknown.push_back(Seconds(Clock::now() - t0));
    EXPECT_EQ(st.code(), Code::kUnauthenticated);
    EXPECT_EQ(st.message(), "unknown user or wrong password");
  }
  const double ratio = Median(unknown) / Median(known);
  std::printf("login median: known %.1f ms, unknown %.1f ms (ratio %.2f)\n", Median(known) * 1000,
              Median(unknown) * 1000, ratio);
  EXPECT_GT(ratio, 0.5);
  EXPECT_LT(ratio, 2.0);
}

// `users` is limited per connection and per user, counted in names looked up (defaults:
// 1000 per connection and 2000 per user in a burst).
TEST_F(AuthAbuseTest, UsersLookupIsRateLimitedPerConnectionAndPerUser) {
  Start("");
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i) names.push_back("someone" + std::to_string(i));
  auto a = Device("erin", "a");
  EXPECT_TRUE(a->Users({}, names).ok());
  EXPECT_TRUE(a->Users({}, names).ok());
  auto r = a->CallRaw("users", [&](JsonWriter& w) {
    w.Key("names").BeginArray();
    for (const auto& n : names) w.String(n);
    w.EndArray();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kRateLimited);
  EXPECT_TRUE(a->Ping().ok());
  // Another connection of erin's has its own connection budget but shares the user's.
  auto b = Device("erin", "b");
  EXPECT_TRUE(b->Users({}, names).ok());
  EXPECT_TRUE(b->Users({}, names).ok());
  auto c = Device("erin", "c");
  EXPECT_EQ(c->Users({}, names).status().code(), Code::kRateLimited);
  // Other users are not affected; small lookups of a limited user fail only while it lasts.
  auto frank = Device("frank", "a");
  auto found = frank->Users({}, {"erin"});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 1u);
}

TEST_F(AuthAbuseTest, ClosedRegistrationRefusesButAdminsCreateUsersOverHttpAndCli) {
  // (kFastHashes leaves the [accounts] table open.)
  Start("registration = \"closed\"\n[admin]\ntoken = \"" + std::string(kToken) + "\"\n");
  auto c = Connect();
  auto reg = c->Register("grace", "grace-password");
  EXPECT_EQ(reg.status().code(), Code::kPermissionDenied) << reg.status().ToString();
  EXPECT_EQ(c->Register("grace", "grace-password", "inv_whatever").status().code(),
            Code::kPermissionDenied);

  auto r = Admin("POST", "/admin/users", R"({"name":"grace","password":"grace-password"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(c->Login("grace", "grace-password").ok());
  // Bad admin requests: refused, nothing created.
  EXPECT_EQ(Admin("POST", "/admin/users", R"({"name":"grace","password":"x-password"})").status,
            409);
  EXPECT_EQ(Admin("POST", "/admin/users", R"({"name":"h","password":"hh-password"})").status, 400);
  EXPECT_EQ(Admin("POST", "/admin/users", R"({"name":"heidi"})").status, 400);
  EXPECT_EQ(Admin("POST", "/admin/users", "not json").status, 400);
  EXPECT_EQ(Admin("GET", "/admin/users", "").status, 405);
  EXPECT_EQ(Admin("POST", "/admin/users", R"({"name":"heidi","password":"heidi-password"})",
                  "wrong-token-0123456789")
                .status,
            401);
  EXPECT_EQ(Admin("POST", "/admin/invites", R"({"uses":0})").status, 400);
  EXPECT_EQ(Admin("POST", "/admin/invites", R"({"uses":"1"})").status, 400);
  EXPECT_EQ(Connect()->Login("heidi", "heidi-password").status().code(), Code::kUnauthenticated);

  std::string out;
  EXPECT_EQ(RunCli(CliEnv(), "admin user add ivan --password-stdin", &out, "ivan-password"), 0)
      << out;
  EXPECT_NE(out.find("created ivan"), std::string::npos) << out;
  EXPECT_TRUE(Connect()->Login("ivan", "ivan-password").ok());
  EXPECT_EQ(RunCli(CliEnv(), "admin user add ivan --password-stdin", &out, "ivan-password"), 1)
      << out;
  // No admin token: a usage error, nothing asked of the server.
  EXPECT_EQ(
      RunCli("PARLEY_ADMIN_TOKEN=", "admin user add judy --password-stdin", &out, "judy-password"),
      2)
      << out;
}

TEST_F(AuthAbuseTest, InviteRegistrationSingleUseExpiryRestartAndCli) {
  Start("registration = \"invite\"\n[admin]\ntoken = \"" + std::string(kToken) + "\"\n");
  auto c = Connect();
  EXPECT_EQ(TryRegister(*c, "kate").code(), Code::kPermissionDenied);
  EXPECT_EQ(TryRegister(*c, "kate", "inv_0000").code(), Code::kPermissionDenied);

  const std::string once = NewInvite(1);
  ASSERT_FALSE(once.empty());
  EXPECT_TRUE(TryRegister(*c, "kate", once).ok());
  EXPECT_EQ(TryRegister(*c, "liam", once).code(), Code::kPermissionDenied);  // used up
  EXPECT_TRUE(c->Login("kate", "kate-password").ok());

  // Two uses; a failed registration (name taken) does not spend one.
  const std::string twice = NewInvite(2);
  auto c2 = Connect();
  EXPECT_EQ(TryRegister(*c2, "kate", twice).code(), Code::kAlreadyExists);
  EXPECT_TRUE(TryRegister(*c2, "liam", twice).ok());
  // Invites live in the store: they survive a restart.
  ASSERT_TRUE(server_->Stop().ok());
  Status restarted = server_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  auto c3 = Connect();
  EXPECT_TRUE(TryRegister(*c3, "mia", twice).ok());
  EXPECT_EQ(TryRegister(*c3, "noah", twice).code(), Code::kPermissionDenied);

  const std::string brief = NewInvite(5, 1);
  std::this_thread::sleep_for(1100ms);  // past its 1 s expiry
  EXPECT_EQ(TryRegister(*c3, "olga", brief).code(), Code::kPermissionDenied);

  // The CLI: `parley admin invite`, then `parley register --invite`.
  std::string out;
  ASSERT_EQ(RunCli(CliEnv(), "admin invite --uses 1 --expires-in 3600", &out), 0) << out;
  std::string token = out.substr(0, out.find('\n'));
  ASSERT_EQ(token.rfind("inv_", 0), 0u) << out;
  EXPECT_EQ(RunCli(CliEnv(), "register pete --password pete-password-1 --invite " + token, &out), 0)
      << out;
  EXPECT_TRUE(Connect()->Login("pete", "pete-password-1").ok());
  EXPECT_EQ(RunCli(CliEnv(), "register quin --password quin-password-1 --invite " + token, &out), 1)
      << out;
  EXPECT_NE(out.find("permission_denied"), std::string::npos) << out;
}

// Registrations are limited per client address, over all its connections.
TEST_F(AuthAbuseTest, RegistrationsPerIpAreLimited) {
  Start("[limits]\nregister_rate_per_ip = 0.01\nregister_burst_per_ip = 3\n");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(TryRegister(*Connect(), "reg" + std::to_string(i)).ok()) << i;
  }
  int64_t retry = -1;
  Status st = TryRegister(*Connect(), "reg3", "", &retry);
  EXPECT_EQ(st.code(), Code::kRateLimited) << st.ToString();
  EXPECT_GT(retry, 1000);  // 0.01/s: about 100 s
  EXPECT_EQ(Connect()->Login("reg3", "reg3-password").status().code(), Code::kUnauthenticated);
  // Logging in is not registering.
  EXPECT_TRUE(Connect()->Login("reg0", "reg0-password").ok());
}

}  // namespace
}  // namespace parley
