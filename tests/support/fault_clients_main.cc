// fault_clients PLAN_FILE: the client side of the fault tests (tests/faults_*_test.cc), as
// a process of its own so that it can run inside a network namespace (`ip netns exec NS
// fault_clients PLAN`) or be frozen by itself. It runs one ReliableClient per `client`
// line of the plan and reports everything they see on stdout, one line each, flushed at
// once, for the test to parse (tests/support/fault_clients.h).
//
// The plan: tests/support/fault_plan.h.
//
// Output (MONO_MS: std::chrono::steady_clock milliseconds, the same clock as the test's):
//   ready
//   connected NAME MONO_MS
//   disconnected NAME MONO_MS PENDING WHY...   (PENDING: sends journaled at that moment)
//   event NAME USER_SEQ TYPE CONV CONV_SEQ BODY   (BODY "-" when the event has no message)
//   queued NAME BODY MONO_MS                 (Send() called: journaled, on its way)
//   ack NAME BODY CONV CONV_SEQ USER_SEQ DUPLICATE(0|1) MONO_MS
//   refused NAME BODY WHY...
//   sent NAME COUNT                    (every send of NAME is journaled)
//   stats NAME RECONNECTS HEARTBEATS_SENT HEARTBEATS_MISSED PENDING
//   bye
// Standard input: "quit" (or its end) stops the clients, prints the stats and exits.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/reliable_client.h"
#include "model/names.h"
#include "tests/support/fault_plan.h"

namespace parley {
namespace {

using client::ReliableClient;

std::mutex out_mu;

int64_t MonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Emit(const std::string& line) {
  std::lock_guard<std::mutex> lock(out_mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// Spaces and newlines would break the line format; bodies here have none, errors may.
std::string OneLine(std::string s) {
  for (char& ch : s) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return s;
}

bool ReadPlan(const std::string& path, test::FaultPlan* plan) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  return test::FaultPlan::FromText(text.str(), plan);
}

struct Running {
  test::FaultClientPlan plan;
  client::MemoryStateStore store;
  std::unique_ptr<ReliableClient> client;
};

std::string BodyOf(const std::string& name, int i) {
  char index[16];
  std::snprintf(index, sizeof index, "%05d", i);
  return name + "#" + index;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fault_clients PLAN_FILE\n");
    return 2;
  }
  test::FaultPlan plan;
  if (!ReadPlan(argv[1], &plan)) {
    std::fprintf(stderr, "fault_clients: cannot read the plan %s\n", argv[1]);
    return 2;
  }
  std::vector<std::unique_ptr<Running>> clients;
  for (const test::FaultClientPlan& cp : plan.clients) {
    auto r = std::make_unique<Running>();
    r->plan = cp;
    client::SessionState s;
    s.server = plan.url;
    s.token = cp.token;
    s.device = cp.device;
    if (!r->store.Save(s).ok()) return 1;
    ReliableClient::Options o;
    o.connect.url = plan.url;
    o.connect.connect_timeout_ms = plan.connect_timeout_ms;
    o.call_timeout = std::chrono::milliseconds(plan.call_timeout_ms);
    o.backoff_min_ms = plan.backoff_min_ms;
    o.backoff_max_ms = plan.backoff_max_ms;
    o.heartbeat_idle_ms = plan.heartbeat_idle_ms;
    o.heartbeat_timeout_ms = plan.heartbeat_timeout_ms;
    const std::string name = cp.name;
    Running* self = r.get();
    o.on_connection = [name, self](bool connected, const Status& why) {
      if (connected) {
        Emit("connected " + name + " " + std::to_string(MonoMs()));
      } else {
        Emit("disconnected " + name + " " + std::to_string(MonoMs()) + " " +
             std::to_string(self->client ? self->client->pending_sends() : 0) + " " +
             OneLine(why.ToString()));
      }
    };
    o.on_send_done = [name](const client::PendingSend& p, const Result<SendAck>& ack) {
      if (ack.ok()) {
        Emit("ack " + name + " " + p.body + " " + std::to_string(ack->conv_id) + " " +
             std::to_string(ack->seq) + " " + std::to_string(ack->user_seq) + " " +
             (ack->duplicate ? "1" : "0") + " " + std::to_string(MonoMs()));
      } else {
        Emit("refused " + name + " " + p.body + " " + OneLine(ack.status().ToString()));
      }
    };
    auto on_event = [name](const SyncItem& item) {
      const InboxEvent& e = item.event;
      Emit("event " + name + " " + std::to_string(e.user_seq) + " " +
           std::string(EventTypeName(e.type)) + " " + std::to_string(e.conv_id) + " " +
           std::to_string(e.conv_seq) + " " +
           (item.message && !item.message->body.empty() ? OneLine(item.message->body) : "-"));
    };
    r->client = std::make_unique<ReliableClient>(std::move(o), &r->store, on_event);
    clients.push_back(std::move(r));
  }
  for (auto& r : clients) r->client->Start();
  Emit("ready");

  std::atomic<bool> quit{false};
  std::thread sender([&] {
    int most = 0;
    for (auto& r : clients) most = std::max(most, r->plan.sends);
    auto next = std::chrono::steady_clock::now();
    for (int i = 1; i <= most && !quit; ++i) {
      for (auto& r : clients) {
        if (i > r->plan.sends) continue;
        client::OutgoingMessage m;
        m.conv = r->plan.conv;
        m.body = BodyOf(r->plan.name, i);
        Emit("queued " + r->plan.name + " " + m.body + " " + std::to_string(MonoMs()));
        // Completion is reported by on_send_done (which also covers restored sends).
        r->client->Send(std::move(m), [](Result<SendAck>) {});
        if (i == r->plan.sends) Emit("sent " + r->plan.name + " " + std::to_string(i));
      }
      next += std::chrono::milliseconds(plan.interval_ms);
      while (!quit && std::chrono::steady_clock::now() < next) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // pacing, stop-aware
      }
    }
  });

  std::string command;
  while (std::getline(std::cin, command)) {
    if (command == "quit") break;
  }
  quit = true;
  sender.join();
  for (auto& r : clients) r->client->Stop();
  for (auto& r : clients) {
    Emit("stats " + r->plan.name + " " + std::to_string(r->client->reconnects()) + " " +
         std::to_string(r->client->heartbeats_sent()) + " " +
         std::to_string(r->client->heartbeats_missed()) + " " +
         std::to_string(r->client->pending_sends()));
  }
  Emit("bye");
  return 0;
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) { return parley::Main(argc, argv); }
