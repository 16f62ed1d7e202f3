// Slow fsync (issue 16, item 6; docs/faults.md "Slow fsync"): parleyd runs with an LD_PRELOAD
// library (tests/support/slow_sync_preload.cc) that sleeps before every fsync, fdatasync and
// sync_file_range for as long as its control file says. Several connections pipeline sends
// while the test turns the delay on and off:
//   1. no delay: the latency baseline;
//   2. 200 ms per sync: the sequencer's batches grow, its queue stays under
//      [storage] max_queued_writes, and sends over it are refused `unavailable` with
//      retry_after_ms; resent with the same client_msg_id after that wait, each is stored
//      once;
//   3. no delay again: the send latency is back near the baseline within seconds.
// At the end every acknowledged message is in its conversation exactly once, where its ack
// said, and the sends acknowledged at the first attempt kept their connection's order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "protocol/decode.h"
#include "protocol/json_writer.h"
#include "tests/support/full_reads.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/metrics_text.h"
#include "tests/support/temp_dir.h"
#include "tests/support/waiting.h"

namespace parley::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kConnections = 8;
constexpr size_t kQueueBound = 500;
constexpr int kSlowSyncMs = 200;
constexpr int kBurstSyncMs = 500;  // phase 2b: 500 requests arrive within one sync, surely

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The value of `series` in a /metrics page; -1 if absent.
double Metric(const std::string& page, const std::string& series) {
  return test::MetricValue(page, series).value_or(-1);
}

std::string SendFrame(uint64_t id, ConvId conv, const std::string& cmid) {
  JsonWriter w;
  w.BeginObject().Key("id").Uint(id).Key("op").String("send").Key("conv").Uint(conv);
  w.Key("client_msg_id").String(cmid).Key("body").String("slow sync " + cmid).EndObject();
  return w.Take();
}

// What one connection's sends came to.
struct Stream {
  std::vector<std::string> cmids;          // by message index
  std::vector<Seq> seqs;                   // by message index; 0: never acknowledged
  std::vector<bool> first_try;             // acknowledged without being refused first
  std::vector<double> latency_ms;          // of each acknowledged attempt: sent -> ack
  std::vector<Clock::time_point> sent_at;  // when each of those attempts was sent
  int refusals = 0;                        // `unavailable` answers
  std::vector<int64_t> retry_hints;        // their retry_after_ms
  std::vector<std::string> other_errors;
  bool complete = false;
};

// Sends `n` messages on `c` (client_msg_id prefix + i), one every `interval` (0: all at
// once), and waits for every ack, as a well-behaved client: after a refusal it sends
// nothing new until every request in flight is answered and the longest retry_after_ms has
// passed, then resends the refused messages, in order, with the same ids, and goes on.
Stream Send(BlockingClient& c, ConvId conv, const std::string& prefix, size_t n,
            std::chrono::microseconds interval, std::chrono::seconds deadline = 60s) {
  Stream out;
  out.seqs.assign(n, 0);
  out.first_try.assign(n, true);
  for (size_t i = 0; i < n; ++i) out.cmids.push_back(prefix + std::to_string(i));
  uint64_t next_id = 1;
  struct InFlight {
    size_t index;
    Clock::time_point sent;
  };
  std::map<uint64_t, InFlight> in_flight;
  auto send = [&](size_t i) {
    uint64_t id = next_id++;
    in_flight[id] = InFlight{i, Clock::now()};
    c.SendRaw(SendFrame(id, conv, out.cmids[i]));
  };
  size_t next = 0;  // the next new message
  auto next_due = Clock::now();
  std::vector<size_t> refused;
  auto resend_at = Clock::now();
  size_t acked = 0;
  const auto end = Clock::now() + deadline;
  while (acked < n && Clock::now() < end) {
    if (!refused.empty()) {
      if (in_flight.empty()) {
        std::this_thread::sleep_until(std::min(resend_at, end));
        std::sort(refused.begin(), refused.end());
        for (size_t i : refused) send(i);
        refused.clear();
        next_due = Clock::now();
      }
    } else {
      while (next < n && Clock::now() >= next_due) {
        send(next++);
        next_due += interval;
      }
    }
    const auto wait =
        next < n && refused.empty()
            ? std::chrono::duration_cast<std::chrono::milliseconds>(next_due - Clock::now())
            : 200ms;
    auto frame = c.NextRawFrame(std::clamp<std::chrono::milliseconds>(wait, 0ms, 200ms));
    if (!frame) continue;
    auto header = DecodeHeader(*frame);
    if (!header.ok() || header->is_push || !header->has_id) continue;
    auto it = in_flight.find(header->id);
    if (it == in_flight.end()) continue;
    const InFlight sent = it->second;
    in_flight.erase(it);
    if (header->ok) {
      auto ack = DecodeSendAck(*frame);
      if (ack.ok()) {
        out.seqs[sent.index] = ack->seq;
        out.latency_ms.push_back(Millis(Clock::now() - sent.sent));
        out.sent_at.push_back(sent.sent);
        ++acked;
      } else {
        out.other_errors.push_back(ack.status().ToString());
      }
      continue;
    }
    int64_t retry = -1;
    Status st = DecodeError(*frame, &retry);
    if (st.code() == Code::kUnavailable) {
      ++out.refusals;
      out.retry_hints.push_back(retry);
      out.first_try[sent.index] = false;
      refused.push_back(sent.index);
      resend_at = std::max(resend_at, Clock::now() + std::chrono::milliseconds(retry));
    } else {
      out.other_errors.push_back(st.ToString());
    }
  }
  out.complete = acked == n;
  return out;
}

// What a phase (every connection at once) came to, with the server's metrics around it.
struct Phase {
  std::vector<Stream> streams;
  double p50_ms = 0;
  double mean_batch = 0;  // requests per durable commit during the phase
  int refusals = 0;
  int64_t min_hint = -1;  // smallest retry_after_ms, -1 if none
  double queue_peak = 0;  // parley_sequencer_queue_peak after the phase
  double seconds = 0;
};

class SlowSyncTest : public GatewayFixture {
 protected:
  void SetUp() override {
    auto dir = test::TempDir::Create("parley-slow-sync-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    control_dir_.emplace(std::move(dir).value());
    control_file_ = control_dir_->path() + "/sync_delay_ms";
    SetDelay(0);
    ServerOptions opts;
    // Sends are never paced here: the latencies measured are the disk's.
    opts.config_toml = std::string(kFastHashes) +
                       "[storage]\nmax_queued_writes = " + std::to_string(kQueueBound) +
                       "\n[limits]\nsend_rate_per_conn = 100000\nsend_burst_per_conn = 100000\n"
                       "send_rate_per_user = 100000\nsend_burst_per_user = 100000\n";
    opts.preload = PARLEY_SLOW_SYNC_PRELOAD;
    opts.env.push_back("PARLEY_SLOW_SYNC_FILE=" + control_file_);
    auto s = ServerProcess::Start(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }

  // Rewritten whole and renamed into place, so the library never reads half a number.
  void SetDelay(int ms) {
    const std::string tmp = control_file_ + ".tmp";
    std::ofstream(tmp) << ms << "\n";
    ASSERT_EQ(std::rename(tmp.c_str(), control_file_.c_str()), 0);
  }

  std::string Metrics() {
    int code = 0;
    auto page = server_->HttpGet("/metrics", &code);
    EXPECT_TRUE(page.ok() && code == 200)
        << (page.ok() ? std::to_string(code) : page.status().ToString());
    return page.ok() ? *page : "";
  }

  // Every connection sends `n` messages (one every `interval`, 0: all at once) on a thread
  // of its own; what it came to is checked and recorded in acked_.
  Phase RunPhase(const std::string& tag, size_t n, std::chrono::microseconds interval) {
    Phase phase;
    const std::string before = Metrics();
    const auto start = Clock::now();
    phase.streams.resize(kConnections);
    std::vector<std::thread> threads;
    for (int k = 0; k < kConnections; ++k) {
      threads.emplace_back([&, k] {
        phase.streams[k] =
            Send(*senders_[k], convs_[k], tag + "-c" + std::to_string(k) + "-", n, interval);
      });
    }
    for (auto& t : threads) t.join();
    phase.seconds = Millis(Clock::now() - start) / 1000;
    // The commit feed's metrics subscriber counts a commit just after its acks: wait until
    // it has seen every request of the phase (and whatever else committed with them).
    std::string after;
    const double want =
        Metric(before, "parley_commit_batch_requests_sum") + static_cast<double>(kConnections * n);
    test::WaitUntil(
        [&] {
          after = Metrics();
          return Metric(after, "parley_commit_batch_requests_sum") >= want;
        },
        5s, 20ms);
    const double commits = Metric(after, "parley_commit_batch_requests_count") -
                           Metric(before, "parley_commit_batch_requests_count");
    const double requests = Metric(after, "parley_commit_batch_requests_sum") -
                            Metric(before, "parley_commit_batch_requests_sum");
    phase.mean_batch = commits > 0 ? requests / commits : 0;
    phase.queue_peak = Metric(after, "parley_sequencer_queue_peak");
    std::vector<double> all;
    for (int k = 0; k < kConnections; ++k) {
      const Stream& st = phase.streams[k];
      EXPECT_TRUE(st.complete) << tag << " connection " << k;
      EXPECT_TRUE(st.other_errors.empty()) << st.other_errors.front();
      all.insert(all.end(), st.latency_ms.begin(), st.latency_ms.end());
      phase.refusals += st.refusals;
      for (int64_t h : st.retry_hints) {
        phase.min_hint = phase.min_hint < 0 ? h : std::min(phase.min_hint, h);
      }
      for (size_t i = 0; i < n; ++i) acked_[k][st.cmids[i]] = st.seqs[i];
      // The sequencer never reorders what it accepted: a connection's sends acknowledged
      // at the first attempt follow its send order.
      Seq last = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!st.first_try[i] || st.seqs[i] == 0) continue;
        EXPECT_GT(st.seqs[i], last) << tag << " connection " << k << " message " << i;
        last = st.seqs[i];
      }
    }
    phase.p50_ms = Median(all);
    return phase;
  }

  std::optional<test::TempDir> control_dir_;
  std::string control_file_;
  std::vector<std::unique_ptr<BlockingClient>> senders_;
  std::vector<ConvId> convs_;
  std::vector<std::map<std::string, Seq>> acked_{kConnections};  // per connection: cmid -> seq
};

TEST_F(SlowSyncTest, BatchesGrowQueueStaysBoundedAndLatencyRecovers) {
  const auto test_start = Clock::now();
  auto sink = Device("sink", "s1");
  for (int k = 0; k < kConnections; ++k) {
    senders_.push_back(Device("sender" + std::to_string(k), "d"));
    auto conv = senders_.back()->OpenDirect("sink");
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    convs_.push_back(conv->id);
  }
  // A steady stream: 8 connections x 125 sends/s, as many users typing at once.
  constexpr auto kInterval = 8000us;
  constexpr size_t kStreamSends = 200;  // 1.6 s

  // Phase 1: a healthy disk.
  const Phase healthy = RunPhase("p1", kStreamSends, kInterval);
  std::printf(
      "phase 1, no delay, %d x 125 sends/s: p50 %.2f ms, mean batch %.1f, queue peak "
      "%.0f, %d refusals, %.1f s\n",
      kConnections, healthy.p50_ms, healthy.mean_batch, healthy.queue_peak, healthy.refusals,
      healthy.seconds);
  EXPECT_EQ(healthy.refusals, 0);

  // Phase 2a: every sync takes 200 ms, the same stream. The requests that arrive while one
  // commit waits for the disk all go into the next: batches grow, the queue stays bounded.
  SetDelay(kSlowSyncMs);
  const Phase slow = RunPhase("p2a", kStreamSends, kInterval);
  std::printf(
      "phase 2a, %d ms per sync, the same stream: p50 %.1f ms, mean batch %.1f, queue "
      "peak %.0f of %zu, %d refusals, %.1f s\n",
      kSlowSyncMs, slow.p50_ms, slow.mean_batch, slow.queue_peak, kQueueBound, slow.refusals,
      slow.seconds);
  EXPECT_GE(slow.p50_ms, kSlowSyncMs * 0.9) << "the injected delay did not reach the WAL sync";
  EXPECT_GT(slow.mean_batch, 2 * healthy.mean_batch) << "batches did not grow";
  EXPECT_LE(slow.queue_peak, static_cast<double>(kQueueBound));

  // Phase 2b: 500 ms per sync and a burst far over what the queue may hold while a commit
  // waits: 8 x 250 sends at once. Those over the bound are refused `unavailable` with
  // retry_after_ms; resent after that wait with the same ids, each is stored once.
  SetDelay(kBurstSyncMs);
  const Phase burst = RunPhase("p2b", 250, 0us);
  SetDelay(kSlowSyncMs);
  const double refused_metric = Metric(Metrics(), "parley_sequencer_refused_total");
  std::printf(
      "phase 2b, %d ms per sync, %d x 250 sends at once: p50 %.1f ms, mean batch %.1f, "
      "queue peak %.0f of %zu, %d refusals (metric %.0f), smallest retry_after_ms %lld, "
      "all acknowledged in %.1f s\n",
      kBurstSyncMs, kConnections, burst.p50_ms, burst.mean_batch, burst.queue_peak, kQueueBound,
      burst.refusals, refused_metric, static_cast<long long>(burst.min_hint), burst.seconds);
  EXPECT_GT(burst.queue_peak, 0);
  EXPECT_LE(burst.queue_peak, static_cast<double>(kQueueBound)) << "the queue passed its bound";
  EXPECT_GT(burst.refusals, 0) << "nothing was refused: the bound never applied";
  EXPECT_GT(burst.min_hint, 0) << "an `unavailable` without retry_after_ms";
  EXPECT_EQ(refused_metric, healthy.refusals + slow.refusals + burst.refusals);

  // A resend of an acknowledged message is answered from its first ack.
  for (int k = 0; k < kConnections; ++k) {
    const std::string cmid = burst.streams[k].cmids.back();
    auto again = senders_[k]->Send(convs_[k], "slow sync " + cmid, cmid);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(again->seq, acked_[k][cmid]);
  }

  // Phase 3: the disk heals in the middle of the stream (1 s slow, then 5 s healthy).
  // The sends made after that are grouped by quarter second: how soon is their p50 back
  // near phase 1's?
  Clock::time_point healthy_at;
  std::thread heal([&] {
    std::this_thread::sleep_for(1s);
    SetDelay(0);
    healthy_at = Clock::now();
  });
  const Phase healing = RunPhase("p3", 750, kInterval);
  heal.join();
  const double recovered_bound_ms = std::max(50.0, 5 * healthy.p50_ms);
  constexpr auto kWindow = 250ms;
  std::vector<std::vector<double>> windows(24);  // 6 s
  for (const Stream& st : healing.streams) {
    for (size_t i = 0; i < st.sent_at.size(); ++i) {
      if (st.sent_at[i] < healthy_at) continue;
      const size_t w = static_cast<size_t>((st.sent_at[i] - healthy_at) / kWindow);
      if (w < windows.size()) windows[w].push_back(st.latency_ms[i]);
    }
  }
  std::vector<double> before_healing;  // the sends of the half second before
  for (const Stream& st : healing.streams) {
    for (size_t i = 0; i < st.sent_at.size(); ++i) {
      if (st.sent_at[i] < healthy_at && st.sent_at[i] >= healthy_at - 500ms) {
        before_healing.push_back(st.latency_ms[i]);
      }
    }
  }
  EXPECT_GE(Median(before_healing), kSlowSyncMs * 0.9) << "the stream was not slow before";
  double recovered_after_s = -1;
  std::printf(
      "phase 3, the disk healthy again after 1 s of the stream: p50 %.1f ms in the half "
      "second before, then of the sends of each 0.25 s after:",
      Median(before_healing));
  for (size_t w = 0; w < windows.size() && !windows[w].empty(); ++w) {
    const double p50 = Median(windows[w]);
    std::printf(" %.1f", p50);
    if (recovered_after_s < 0 && p50 < recovered_bound_ms) {
      recovered_after_s = std::chrono::duration<double>(kWindow * w).count();
    }
  }
  std::printf(" ms; under %.1f ms from %.2f s on\n", recovered_bound_ms, recovered_after_s);
  EXPECT_GE(recovered_after_s, 0) << "latency did not recover within 5 s";
  EXPECT_LT(recovered_after_s, 5) << "latency took more than 5 s to recover";
  // And it stays recovered: the last second's sends are all fast.
  size_t filled = 0;
  while (filled < windows.size() && !windows[filled].empty()) ++filled;
  ASSERT_GE(filled, 8u) << "the stream ended too soon after the disk healed";
  std::vector<double> last_second;
  for (size_t w = filled - 4; w < filled; ++w) {
    last_second.insert(last_second.end(), windows[w].begin(), windows[w].end());
  }
  EXPECT_LT(Median(last_second), recovered_bound_ms);

  // Every acknowledged message is stored once, where its ack said, and nothing else is.
  for (int k = 0; k < kConnections; ++k) {
    std::vector<MessageRecord> history = test::HistoryForward(*senders_[k], convs_[k]);
    ASSERT_EQ(history.size(), acked_[k].size()) << "connection " << k;
    std::set<std::string> seen;
    for (size_t i = 0; i < history.size(); ++i) {
      const MessageRecord& m = history[i];
      EXPECT_EQ(m.seq, i + 1) << "gap in conversation " << convs_[k];
      EXPECT_TRUE(seen.insert(m.client_msg_id).second) << "stored twice: " << m.client_msg_id;
      auto it = acked_[k].find(m.client_msg_id);
      ASSERT_NE(it, acked_[k].end()) << "stored but never acknowledged: " << m.client_msg_id;
      EXPECT_EQ(it->second, m.seq) << m.client_msg_id;
    }
  }
  EXPECT_TRUE(sink->Ping().ok());
  std::printf("test ran %.1f s\n", Millis(Clock::now() - test_start) / 1000);
}

}  // namespace
}  // namespace parley::testing
