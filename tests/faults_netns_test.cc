// Fault: a cut network (issue 16, docs/faults.md "Cut network"). The clients run in a
// network namespace of their own (`ip netns exec`), joined to the server's namespace by a
// veth pair with private addresses; parleyd listens on the root side's address only.
// Mid-stream the clients' end of the link goes down for 15 s, then up again. 10 users x 4
// devices (d1 sends to a group of all, d2 to a direct conversation, d3/d4 only receive).
//
// Proves: the same end state as every fault (each device exactly once and in order,
// nothing acknowledged lost, nothing stored twice, the sends journaled during the cut
// resent with the same client_msg_id); the server frees the dead sessions through its idle
// timeout while the link is still down (parley_sessions_authenticated drops to 0); and the
// clients' reconnects after the link comes back are spread by the backoff's jitter, not a
// stampede in one instant (min/median/max printed; the busiest 100 ms holds few of them).
//
// Needs root (network namespaces); skipped otherwise. Namespaces and links get unique names
// per run and are removed at the end, also when the test fails; ones left by a crashed run
// (its process gone) are removed at the start.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "client/http_request.h"
#include "tests/support/child_process.h"
#include "tests/support/command.h"
#include "tests/support/fault_clients.h"
#include "tests/support/metrics_text.h"
#include "tests/support/ports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/waiting.h"

namespace parley::testing {
namespace {

using namespace std::chrono_literals;
using test::FaultClientLog;
using test::FaultClients;
using test::FaultLogs;
using test::MonoMs;

constexpr char kPrefix[] = "pfn";  // our namespaces: pfn<pid>; links pfa<pid> / pfb<pid>
constexpr int64_t kIdleTimeoutMs = 4000;
constexpr int64_t kCutMs = 15000;
constexpr int64_t kIntervalMs = 250;

int Run(const std::string& command, std::string* out = nullptr) {
  std::string text;
  const int code = test::RunCommand(command + " 2>&1", &text);
  if (out) *out = text;
  return code;
}

// Namespaces of earlier runs whose process is gone (a crash skipped their cleanup).
void RemoveStaleNamespaces() {
  std::string list;
  if (Run("ip netns list", &list) != 0) return;
  std::istringstream lines(list);
  std::string line;
  while (std::getline(lines, line)) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(kPrefix, 0) != 0) continue;
    const long pid = std::atol(name.c_str() + sizeof(kPrefix) - 1);
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      Run("ip link del pfa" + std::to_string(pid));
      Run("ip netns del " + name);
    }
  }
}

// The client namespace and the veth pair; removed at destruction.
class ClientNetwork {
 public:
  ~ClientNetwork() {
    if (!root_link_.empty()) Run("ip link del " + root_link_);
    if (!ns_.empty()) Run("ip netns del " + ns_);
  }
  // Empty on success, else why it failed (the caller skips or fails).
  std::string Create() {
    const std::string id = std::to_string(::getpid());
    std::string out;
    if (Run("ip netns add " + std::string(kPrefix) + id, &out) != 0) {
      return "ip netns add failed: " + out;
    }
    ns_ = kPrefix + id;
    // A /30 of 10.213.0.0/16 per process, so parallel runs do not share addresses.
    const int k = static_cast<int>(::getpid() % 16000);
    const std::string net = "10.213." + std::to_string(k / 64) + ".";
    server_ip_ = net + std::to_string((k % 64) * 4 + 1);
    client_ip_ = net + std::to_string((k % 64) * 4 + 2);
    if (Run("ip -o -4 addr show | grep -q ' " + server_ip_ + "/'") == 0) {
      return "address " + server_ip_ + " is already in use";
    }
    const std::string a = "pfa" + id, b = "pfb" + id;
    for (const std::string& cmd : {
             "ip link add " + a + " type veth peer name " + b + " netns " + ns_,
             "ip addr add " + server_ip_ + "/30 dev " + a,
             "ip link set " + a + " up",
             "ip -n " + ns_ + " addr add " + client_ip_ + "/30 dev " + b,
             "ip -n " + ns_ + " link set " + b + " up",
             "ip -n " + ns_ + " link set lo up",
         }) {
      if (Run(cmd, &out) != 0) return cmd + ": " + out;
      if (root_link_.empty()) root_link_ = a;
    }
    client_link_ = b;
    return "";
  }
  // The clients' end of the link: their "cable".
  bool SetClientLink(bool up) {
    return Run("ip -n " + ns_ + " link set " + client_link_ + (up ? " up" : " down")) == 0;
  }
  const std::string& ns() const { return ns_; }
  const std::string& server_ip() const { return server_ip_; }

 private:
  std::string ns_, root_link_, client_link_, server_ip_, client_ip_;
};

// parleyd on the veth's root-side address (ServerProcess serves 127.0.0.1 only), with its
// /metrics on a loopback admin listener.
class NetServer {
 public:
  std::string Start(const std::string& host, const test::TempDir& dir) {
    auto admin = test::FreeLoopbackPort();
    if (!admin.ok()) return admin.status().ToString();
    admin_port_ = *admin;
    const std::string config = dir.Sub("parleyd.toml");
    std::ofstream(config) << "[accounts]\npassword_hash = \"min\"\n"
                          << "[session]\nidle_timeout_ms = " << kIdleTimeoutMs << "\n"
                          << "[admin]\nlisten = \"127.0.0.1:" << admin_port_ << "\"\n";
    const std::string port_file = dir.Sub("port");
    auto child = test::ChildProcess::Start({PARLEYD_PATH, "--data", dir.Sub("data"), "--port-file",
                                            port_file, "--listen", host + ":0", "--config", config},
                                           dir.Sub("parleyd.log"), dir.Sub("parleyd.log"));
    if (!child.ok()) return child.status().ToString();
    process_.emplace(std::move(child).value());
    const bool ready = test::WaitUntil(
        [&] {
          std::ifstream in(port_file);
          unsigned port = 0;
          if (in >> port && port > 0) port_ = static_cast<uint16_t>(port);
          return port_ != 0;
        },
        30s, 10ms);
    if (!ready) return "parleyd did not start (see " + dir.Sub("parleyd.log") + ")";
    url_ = "ws://" + host + ":" + std::to_string(port_) + "/ws";
    return "";
  }
  const std::string& url() const { return url_; }
  double Metric(const std::string& name) {
    client::HttpRequestSpec spec;
    spec.port = admin_port_;
    spec.path = "/metrics";
    auto r = client::HttpRequest(spec);
    if (!r.ok() || r->status != 200) return -1;
    return test::MetricValue(r->body, name).value_or(-1);
  }

 private:
  std::optional<test::ChildProcess> process_;
  uint16_t port_ = 0, admin_port_ = 0;
  std::string url_;
};

TEST(FaultsNetnsTest, CutLinkEndsExactlyOnceInOrderAndReconnectsSpread) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  RemoveStaleNamespaces();
  test::TempDir dir("parley-netns-");
  ClientNetwork net;  // declared before the processes: removed after they are killed
  if (std::string why = net.Create(); !why.empty()) {
    GTEST_SKIP() << "cannot make a network namespace here: " << why;
  }
  NetServer server;
  ASSERT_EQ(server.Start(net.server_ip(), dir), "");
  client::ConnectOptions connect;
  connect.url = server.url();

  const int sends = static_cast<int>((kCutMs + 12000) / kIntervalMs);
  auto made = test::MakeFaultScenario(connect, "nt", 10, 4, sends);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const test::FaultScenario& scenario = *made;
  const size_t n_clients = scenario.clients.size();

  test::FaultPlan plan;
  plan.url = server.url();
  plan.heartbeat_idle_ms = 3000;  // notice the cut well within it
  plan.heartbeat_timeout_ms = 3000;
  plan.connect_timeout_ms = 5000;
  plan.call_timeout_ms = 5000;
  plan.interval_ms = kIntervalMs;  // backoff: the library's defaults (50 ms .. 5 s)
  plan.clients = scenario.clients;
  auto started = FaultClients::Start(plan, {"ip", "netns", "exec", net.ns()}, dir.Sub("plan"),
                                     dir.Sub("clients.log"));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  FaultClients& clients = **started;

  ASSERT_TRUE(clients.WaitStarted(scenario.clients, 8, 60s))
      << "clients did not start (see " << dir.Sub("clients.log") << ")";
  ASSERT_TRUE(test::WaitUntil(
      [&] { return server.Metric("parley_sessions_authenticated") == double(n_clients); }, 10s,
      50ms));

  const double connections_before = server.Metric("parley_connections");

  // The fault: the clients' link goes down.
  ASSERT_TRUE(net.SetClientLink(false));
  const int64_t down_at = MonoMs();
  // While it is down the server notices the silence and frees every client's session.
  const bool reaped =
      test::WaitUntil([&] { return server.Metric("parley_sessions_authenticated") == 0; },
                      std::chrono::milliseconds(kCutMs - 1000), 100ms);
  const int64_t reaped_after = MonoMs() - down_at;
  EXPECT_TRUE(reaped) << "sessions left: " << server.Metric("parley_sessions_authenticated");
  // By the idle timeout (Beast pings after half of it and gives up after the other half),
  // not sooner; and their connections are closed too.
  EXPECT_GE(reaped_after, kIdleTimeoutMs / 2 - 200);
  EXPECT_TRUE(test::WaitUntil(
      [&] { return server.Metric("parley_connections") <= connections_before - double(n_clients); },
      5s, 100ms))
      << server.Metric("parley_connections") << " connections, " << connections_before
      << " before the cut";
  const int64_t cut_left = down_at + kCutMs - MonoMs();
  if (cut_left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(cut_left));
  const FaultLogs during = clients.Logs();
  ASSERT_TRUE(net.SetClientLink(true));
  const int64_t up_at = MonoMs();

  // Every client noticed the cut while it lasted.
  size_t journaled_at_drop = 0;
  int64_t slowest_notice = 0;
  for (const auto& c : scenario.clients) {
    const FaultClientLog& log = during.at(c.name);
    auto drop = std::find_if(log.drops.begin(), log.drops.end(),
                             [&](const FaultClientLog::Drop& d) { return d.at_ms >= down_at; });
    ASSERT_NE(drop, log.drops.end()) << c.name << " did not notice the cut";
    slowest_notice = std::max(slowest_notice, drop->at_ms - down_at);
    if (c.sends) journaled_at_drop += drop->pending;
  }
  EXPECT_GT(journaled_at_drop, 0u);

  // Reconnects after the link came back: when, and how spread.
  std::vector<int64_t> reconnect_ms;
  ASSERT_TRUE(clients.WaitReconnected(scenario.clients, up_at, 60s, &reconnect_ms))
      << "not every client reconnected";
  std::sort(reconnect_ms.begin(), reconnect_ms.end());
  size_t busiest = 0;  // the most reconnects within any 100 ms
  for (size_t i = 0; i < reconnect_ms.size(); ++i) {
    const auto end =
        std::upper_bound(reconnect_ms.begin(), reconnect_ms.end(), reconnect_ms[i] + 100);
    busiest = std::max(busiest, static_cast<size_t>(end - (reconnect_ms.begin() + i)));
  }
  const int64_t spread = reconnect_ms.back() - reconnect_ms.front();
  // Equal jitter draws each delay from [d/2, d] with d up to 5 s, and the clients' last
  // failures fell at different times: the reconnects spread over seconds.
  EXPECT_GE(spread, 1000) << "reconnects not spread by jitter";
  EXPECT_LE(busiest, n_clients / 4) << "a reconnect stampede";

  ASSERT_TRUE(
      clients.WaitFor([&](const FaultLogs& logs) { return test::AllAcked(scenario, logs); }, 60s))
      << "sends were not all acknowledged after the link came back";
  const int64_t all_acked_at = MonoMs();
  const test::Backlog backlog = test::BacklogAt(clients.Logs(), up_at);
  EXPECT_GT(backlog.sends, 0u);
  EXPECT_GT(backlog.drained_at_ms, 0);
  auto lengths = test::TimelineLengths(connect, scenario);
  ASSERT_TRUE(lengths.ok()) << lengths.status().ToString();
  ASSERT_TRUE(clients.WaitFor(
      [&](const FaultLogs& logs) { return test::AllCaughtUp(scenario, logs, *lengths); }, 30s))
      << "devices did not catch up";
  const int64_t caught_up_at = MonoMs();
  // One session per client again: none of the dead ones came back or stayed.
  EXPECT_TRUE(test::WaitUntil(
      [&] { return server.Metric("parley_sessions_authenticated") == double(n_clients); }, 20s,
      50ms))
      << server.Metric("parley_sessions_authenticated");

  ASSERT_TRUE(clients.Quit().ok());
  EXPECT_TRUE(clients.unparsed().empty()) << clients.unparsed().front();
  const FaultLogs logs = clients.Logs();
  test::ExpectExactlyOnceInOrder(connect, scenario, logs);

  size_t duplicates = 0, messages = 0;
  uint64_t missed = 0;
  for (const auto& [name, log] : logs) {
    for (const auto& a : log.acks) duplicates += a.duplicate;
    messages += log.acks.size();
    missed += log.heartbeats_missed;
    EXPECT_EQ(log.pending, 0u) << name;
  }
  std::printf(
      "[netns] %zu clients, %zu messages, link down %lld ms: clients noticed within %lld ms, "
      "%llu heartbeats missed, the server freed all sessions %lld ms after the cut, %zu sends "
      "journaled at the drop; after the link came up: reconnects min %lld / median %lld / max "
      "%lld ms (busiest 100 ms: %zu clients), the %zu sends queued and unacknowledged at "
      "link-up acked within %lld ms (%zu duplicate:true), all acked in %lld ms, all caught up "
      "in %lld ms\n",
      n_clients, messages, static_cast<long long>(kCutMs), static_cast<long long>(slowest_notice),
      static_cast<unsigned long long>(missed), static_cast<long long>(reaped_after),
      journaled_at_drop, static_cast<long long>(reconnect_ms.front()),
      static_cast<long long>(reconnect_ms[reconnect_ms.size() / 2]),
      static_cast<long long>(reconnect_ms.back()), busiest, backlog.sends,
      static_cast<long long>(backlog.drained_at_ms - up_at), duplicates,
      static_cast<long long>(all_acked_at - up_at), static_cast<long long>(caught_up_at - up_at));
}

}  // namespace
}  // namespace parley::testing
