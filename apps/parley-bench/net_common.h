// Shared machinery of the network scenarios: the target server (given or started
// privately), user provisioning, and checking delivered messages for loss, duplication
// and reordering.
#pragma once

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/blocking_client.h"
#include "latency.h"
#include "scenarios.h"
#include "server_probe.h"
#include "tests/support/server_process.h"

namespace parley::bench {

// The server under test: a URL, plus the process when the benchmark started it.
struct Target {
  std::string url;
  std::unique_ptr<testing::ServerProcess> process;
  int pid = 0;
};
Result<Target> OpenTarget(const NetOptions& options);
// How to probe the target's costs (its URL, --metrics-url, its pid, --no-perf).
ProbeOptions ProbeOptionsFor(const Target& target, const NetOptions& options);
// The config of a private server: durable (fsync) as in production, but cheap password
// hashes and no rate limits, so a benchmark measures messaging rather than its own set-up.
extern const char kBenchConfig[];

// The median of `v` (0 for none): figures are quoted as medians of repeated runs.
double Median(std::vector<double> v);

struct Account {
  UserId id = 0;
  std::string name;
  std::string token;
  std::string device;
};
// Registers (or reuses) `count` users named prefix0..prefixN and logs each in once.
Result<std::vector<Account>> Provision(const std::string& url, const std::string& prefix,
                                       int count);

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Message bodies carry "sender:n:send_nanos" so a receiver can check order and latency.
inline std::string Body(int sender, uint64_t n) {
  return fmt::format("{}:{}:{}", sender, n, NowNanos());
}
bool ParseBody(const std::string& body, int* sender, uint64_t* n, int64_t* sent_nanos);

// Per (receiver, sender) stream: the next expected sequence number. Streams are ordered
// by the server, so a number below it is a duplicate and one above it is a reordering
// (something before it is missing).
class DeliveryCheck {
 public:
  void Record(int receiver, int sender, uint64_t n) {
    uint64_t& next = expected_[Key(receiver, sender)];
    if (n < next) {
      ++duplicated_;
      return;
    }
    if (n > next) ++reordered_;
    next = n + 1;
    ++delivered_;
  }
  uint64_t delivered() const { return delivered_; }
  uint64_t duplicated() const { return duplicated_; }
  uint64_t reordered() const { return reordered_; }
  // Acknowledged messages of each stream's sender that its receiver never got.
  uint64_t Lost(const std::vector<std::pair<int, int>>& receiver_sender,
                const std::vector<uint64_t>& acked_by_sender) const {
    uint64_t lost = 0;
    for (auto [r, s] : receiver_sender) {
      auto it = expected_.find(Key(r, s));
      uint64_t got = it == expected_.end() ? 0 : it->second;
      if (acked_by_sender[s] > got) lost += acked_by_sender[s] - got;
    }
    return lost;
  }

 private:
  static uint64_t Key(int r, int s) {
    return (static_cast<uint64_t>(r) << 32) | static_cast<uint32_t>(s);
  }
  std::unordered_map<uint64_t, uint64_t> expected_;
  uint64_t delivered_ = 0, duplicated_ = 0, reordered_ = 0;
};

// What a run of message traffic saw.
struct FlowOutcome {
  static constexpr int kPhases = 4;
  double seconds = 0;  // of sending
  uint64_t sent = 0, acked = 0, errors = 0, delivered_in_window = 0;
  uint64_t lost = 0, duplicated = 0, reordered = 0;
  Latencies latency;  // send -> the receiver's push
  // Send -> acknowledgement, by the phase the send was issued in (FlowHooks::phase).
  std::array<Latencies, kPhases> ack_latency;
};

// Lets a scenario drive traffic while it does something else (from another thread).
struct FlowHooks {
  // Called on the sending thread when the first send is about to go out.
  std::function<void()> started;
  // Sends go on while this returns true (checked every millisecond), but at most for
  // NetOptions::seconds. Empty: for NetOptions::seconds.
  std::function<bool()> keep_sending;
  // Read as each send is issued: its send->ack latency is recorded under this phase
  // (0 to kPhases-1; others are not recorded). Null: everything under phase 0.
  const std::atomic<int>* phase = nullptr;
  // Called on the sending thread once sending stopped and every acknowledged message was
  // delivered (or the drain's deadline passed), before the connections close.
  std::function<void()> finished;
};

// `pairs` traffic (NetOptions::pairs, rate, window) against the running server at `url`:
// provisions fresh users, opens their direct conversations and runs the flow.
Result<FlowOutcome> RunPairsTraffic(const std::string& url, const NetOptions& options,
                                    const FlowHooks& hooks = {});

// One measured `pairs` run: its traffic, bracketed by a ServerProbe, its report printed.
struct PairsMeasurement {
  FlowOutcome flow;
  double delivered_per_s = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  ProbeFigures server;
  std::string json;  // the run's final JSON line (not printed)
};
Result<PairsMeasurement> MeasurePairs(const Target& target, const NetOptions& options);
// The pairs scenario against a running target: NetOptions::idle idle users, then a
// measured run. Returns the exit code (non-zero if a message was lost, duplicated or
// reordered).
int RunPairsOn(const Target& target, const NetOptions& options);

}  // namespace parley::bench
