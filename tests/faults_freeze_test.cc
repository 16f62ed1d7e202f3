// Fault: a frozen server (issue 16, docs/faults.md "Frozen server"). parleyd is stopped
// with SIGSTOP for 30 s while ReliableClients (a fault_clients process: 3 users, 3 devices
// each; d1 sends to a group, d2 to a direct conversation, d3 only receives) keep sending,
// then resumed with SIGCONT. The kernel still completes TCP handshakes and acknowledges
// bytes for a stopped process, so nothing but the application's own timeouts can notice:
// senders by their call timeout, idle receivers only by the heartbeat.
//
// Proves: every client notices within its heartbeat (receivers) or call timeout (senders)
// instead of hanging; all reconnect after SIGCONT; the sends journaled meanwhile are resent
// with the same client_msg_id and stored once; every device ends exactly once and in order;
// the server's session count returns to one per client (no leaked sessions); and a client
// that vanishes without a FIN (its process frozen) is reaped by [session] idle_timeout_ms.
//
// PARLEY_FREEZE_SECONDS shortens the freeze (the sanitizer build); the Release run is 30 s.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "tests/support/fault_clients.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/metrics_text.h"
#include "tests/support/temp_dir.h"
#include "tests/support/waiting.h"

namespace parley::testing {
namespace {

using test::FaultClientLog;
using test::FaultClients;
using test::FaultLogs;
using test::MonoMs;

constexpr int64_t kIdleTimeoutMs = 3000;  // the server's [session] idle_timeout_ms here
constexpr int64_t kHeartbeatIdleMs = 2000;
constexpr int64_t kHeartbeatTimeoutMs = 2000;
constexpr int64_t kCallTimeoutMs = 3000;
constexpr int64_t kIntervalMs = 200;

int FreezeSeconds() {
  const char* env = std::getenv("PARLEY_FREEZE_SECONDS");
  return env ? std::max(5, std::atoi(env)) : 30;
}

class FaultsFreezeTest : public GatewayFixture {
 protected:
  void SetUp() override {
    StartServer("[session]\nidle_timeout_ms = " + std::to_string(kIdleTimeoutMs) + "\n");
  }

  double Metric(const std::string& name) {
    auto text = server_->HttpGet("/metrics");
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    if (!text.ok()) return -1;
    return test::MetricValue(*text, name).value_or(-1);
  }
  bool MetricBecomes(const std::string& name, double value, std::chrono::milliseconds timeout) {
    return test::WaitUntil([&] { return Metric(name) == value; }, timeout, 50ms);
  }

  test::FaultPlan Plan(const test::FaultScenario& scenario) {
    test::FaultPlan plan;
    plan.url = server_->url() + "/ws";
    plan.heartbeat_idle_ms = kHeartbeatIdleMs;
    plan.heartbeat_timeout_ms = kHeartbeatTimeoutMs;
    plan.backoff_min_ms = 50;
    plan.backoff_max_ms = 2000;
    plan.connect_timeout_ms = kCallTimeoutMs;
    plan.call_timeout_ms = kCallTimeoutMs;
    plan.interval_ms = kIntervalMs;
    plan.clients = scenario.clients;
    return plan;
  }

  test::TempDir dir_{"parley-freeze-"};
};

TEST_F(FaultsFreezeTest, ClientsNoticeReconnectAndEndExactlyOnceInOrder) {
  const int freeze_s = FreezeSeconds();
  // Sends span the time before the freeze (~4 s), the freeze and ~4 s after it.
  const int sends = static_cast<int>((freeze_s * 1000 + 8000) / kIntervalMs);
  auto made = test::MakeFaultScenario(Options(), "fz", 3, 3, sends);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const test::FaultScenario& scenario = *made;
  const size_t n_clients = scenario.clients.size();

  auto started = FaultClients::Start(Plan(scenario), {}, dir_.Sub("plan"), dir_.Sub("clients.log"));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  FaultClients& clients = **started;

  // Everyone connected and sending before the fault.
  ASSERT_TRUE(clients.WaitStarted(scenario.clients, 10, 30s)) << "clients did not start";
  ASSERT_TRUE(MetricBecomes("parley_sessions_authenticated", static_cast<double>(n_clients), 10s));

  // The fault: the server process stops; its sockets stay open.
  ASSERT_EQ(::kill(server_->pid(), SIGSTOP), 0);
  const int64_t stopped_at = MonoMs();
  std::this_thread::sleep_until(std::chrono::steady_clock::now() + std::chrono::seconds(freeze_s));
  const FaultLogs during = clients.Logs();
  ASSERT_EQ(::kill(server_->pid(), SIGCONT), 0);
  const int64_t resumed_at = MonoMs();

  // While frozen, every client noticed (no hang until a TCP timeout): idle receivers
  // through an unanswered heartbeat, senders through their call timeout.
  int64_t slowest_notice = 0, slowest_receiver_notice = 0;
  size_t journaled_at_drop = 0;
  for (const auto& c : scenario.clients) {
    SCOPED_TRACE(c.name);
    const FaultClientLog& log = during.at(c.name);
    auto drop = std::find_if(log.drops.begin(), log.drops.end(),
                             [&](const FaultClientLog::Drop& d) { return d.at_ms >= stopped_at; });
    ASSERT_NE(drop, log.drops.end()) << "did not notice the frozen server in " << freeze_s << " s";
    const int64_t notice = drop->at_ms - stopped_at;
    slowest_notice = std::max(slowest_notice, notice);
    if (c.sends == 0) {
      EXPECT_NE(drop->why.find("heartbeat unanswered"), std::string::npos) << drop->why;
      slowest_receiver_notice = std::max(slowest_receiver_notice, notice);
    } else {
      journaled_at_drop += drop->pending;
    }
    // Idle + timeout + the check's tick, with room for a slow (sanitizer) build.
    EXPECT_LT(notice, kHeartbeatIdleMs + kHeartbeatTimeoutMs + kCallTimeoutMs + 4000);
  }
  // Sends made during the freeze were journaled, to be resent after it.
  EXPECT_GT(journaled_at_drop, 0u);

  // Recovery: every send acknowledged, every client connected again.
  ASSERT_TRUE(
      clients.WaitFor([&](const FaultLogs& logs) { return test::AllAcked(scenario, logs); }, 60s))
      << "sends were not all acknowledged after SIGCONT";
  const int64_t all_acked_at = MonoMs();
  const test::Backlog backlog = test::BacklogAt(clients.Logs(), resumed_at);
  EXPECT_GT(backlog.sends, 0u);
  EXPECT_GT(backlog.drained_at_ms, 0);
  std::vector<int64_t> reconnect_ms;
  ASSERT_TRUE(clients.WaitReconnected(scenario.clients, resumed_at, 30s, &reconnect_ms));

  auto lengths = test::TimelineLengths(Options(), scenario);
  ASSERT_TRUE(lengths.ok()) << lengths.status().ToString();
  ASSERT_TRUE(clients.WaitFor(
      [&](const FaultLogs& logs) { return test::AllCaughtUp(scenario, logs, *lengths); }, 30s))
      << "devices did not catch up";
  const int64_t caught_up_at = MonoMs();
  // The sessions of the connections that died in the freeze are gone: one per client.
  EXPECT_TRUE(MetricBecomes("parley_sessions_authenticated", static_cast<double>(n_clients),
                            std::chrono::milliseconds(2 * kIdleTimeoutMs + 10000)))
      << Metric("parley_sessions_authenticated");

  ASSERT_TRUE(clients.Quit().ok());
  EXPECT_TRUE(clients.unparsed().empty()) << clients.unparsed().front();
  const FaultLogs logs = clients.Logs();
  test::ExpectExactlyOnceInOrder(Options(), scenario, logs);

  size_t duplicates = 0, messages = 0, drops = 0;
  uint64_t missed = 0;
  for (const auto& [name, log] : logs) {
    for (const auto& a : log.acks) duplicates += a.duplicate;
    messages += log.acks.size();
    drops += log.drops.size();
    missed += log.heartbeats_missed;
    EXPECT_EQ(log.pending, 0u) << name;
  }
  // The send each sender had in flight when the server froze was read by the server after
  // SIGCONT (before the end of its dead connection) and stored; the client's resend on the
  // new connection got the first ack back with duplicate:true — the same client_msg_id.
  EXPECT_GT(duplicates, 0u);
  std::printf(
      "[freeze] %zu clients, %zu messages, frozen %d s: noticed within %lld ms (idle receivers "
      "by heartbeat within %lld ms), %zu sends journaled at the drop, %llu heartbeats missed, "
      "%zu disconnects (failed attempts included); after SIGCONT: reconnected in %lld..%lld ms "
      "(median %lld), the %zu sends queued and unacknowledged at SIGCONT acked within %lld ms "
      "(%zu acks were duplicate:true), all acked in %lld ms, all devices caught up in %lld ms\n",
      n_clients, messages, freeze_s, static_cast<long long>(slowest_notice),
      static_cast<long long>(slowest_receiver_notice), journaled_at_drop,
      static_cast<unsigned long long>(missed), drops, static_cast<long long>(reconnect_ms.front()),
      static_cast<long long>(reconnect_ms.back()),
      static_cast<long long>(reconnect_ms[reconnect_ms.size() / 2]), backlog.sends,
      static_cast<long long>(backlog.drained_at_ms - resumed_at), duplicates,
      static_cast<long long>(all_acked_at - resumed_at),
      static_cast<long long>(caught_up_at - resumed_at));
}

// A client that vanishes without a FIN — its process frozen, so its kernel keeps the TCP
// connection up but nothing answers the server's pings — is reaped by idle_timeout_ms.
TEST_F(FaultsFreezeTest, VanishedClientIsReapedByTheIdleTimeout) {
  auto made = test::MakeFaultScenario(Options(), "fv", 1, 1, 0);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE(MetricBecomes("parley_sessions_authenticated", 0, 10s));
  test::FaultPlan plan;
  plan.url = server_->url() + "/ws";
  plan.heartbeat_idle_ms = 0;  // no pings of its own: only the server's
  plan.clients = made->clients;
  auto started = FaultClients::Start(plan, {}, dir_.Sub("plan"), dir_.Sub("clients.log"));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  FaultClients& clients = **started;
  ASSERT_TRUE(clients.WaitFor(
      [&](const FaultLogs& logs) {
        return !logs.empty() && !logs.begin()->second.connects.empty();
      },
      20s));
  ASSERT_TRUE(MetricBecomes("parley_sessions_authenticated", 1, 10s));
  const double connections = Metric("parley_connections");

  clients.Signal(SIGSTOP);
  const int64_t vanished_at = MonoMs();
  ASSERT_TRUE(MetricBecomes("parley_sessions_authenticated", 0,
                            std::chrono::milliseconds(2 * kIdleTimeoutMs + 10000)))
      << "the half-open session was not reaped";
  const int64_t reaped_after = MonoMs() - vanished_at;
  EXPECT_TRUE(MetricBecomes("parley_connections", connections - 1, 10s));
  // Reaped by the timeout, not by anything sooner: Beast pings after half of it and drops
  // the connection when the next half passes without a frame.
  EXPECT_GE(reaped_after, kIdleTimeoutMs / 2 - 200);
  std::printf(
      "[freeze] a frozen client's session was reaped %lld ms after it froze "
      "(idle_timeout_ms %lld)\n",
      static_cast<long long>(reaped_after), static_cast<long long>(kIdleTimeoutMs));
  clients.Signal(SIGCONT);
}

}  // namespace
}  // namespace parley::testing
