// `reconnect`: a reconnect storm. D devices (one user each) log in once, keep their token,
// sync to the head of their inbox and remember the cursor; then all disconnect; then each
// misses K inbox events (K messages to each of the groups they are in — groups small
// enough for write fan-out, so each message is an event in every member's inbox); then
// all reconnect at once: token `auth`, then `sync` from the saved cursor, page after page
// until caught up. It prints the time until every device caught up (issue 12's target:
// <= 5 s for 10,000 devices), each device's catch-up time (from its connect to its last
// page), auth errors and rate-limited replies, and checks that every device got exactly
// its K events, in order, none twice. Every wait has a deadline.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "client/connection.h"
#include "crowd.h"
#include "latency.h"
#include "net_common.h"
#include "pipeline.h"
#include "protocol/decode.h"

namespace parley::bench {
namespace {

constexpr int kSyncPage = 100;  // the server's default page

// What one device saw of the storm. Touched by one job at a time (a retry starts after
// the previous attempt ended).
struct Device {
  Seq cursor = 0;        // the last user_seq it processed
  Seq missed_from = 0;   // its cursor when it went away
  int64_t start_ns = 0;  // its first reconnect attempt
  int64_t caught_up_ns = 0;
  uint32_t events = 0, duplicated = 0, gaps = 0;
  std::shared_ptr<client::Connection> conn;
};

struct StormCounts {
  std::atomic<uint64_t> auth_errors{0}, rate_limited{0}, sync_errors{0}, transport_errors{0};
  std::mutex mu;
  std::string first_error;  // guarded by mu
};

bool Retryable(const Status& st) {
  return client::IsTransportError(st) || st.code() == Code::kUnavailable ||
         st.code() == Code::kRateLimited;
}

// Pages `sync` on `c` from d.cursor until has_more is false; `done` gets the first error.
void SyncUntilCaughtUp(const std::shared_ptr<client::Connection>& c, Device& d, bool count_events,
                       std::function<void(Status, int64_t)> done) {
  const Seq since = d.cursor;
  c->Call(
      "sync", [since](JsonWriter& w) { w.Key("since").Uint(since).Key("limit").Uint(kSyncPage); },
      [c, &d, count_events, done](Result<std::string> r, int64_t retry_after_ms) {
        if (!r.ok()) return done(r.status(), retry_after_ms);
        auto reply = DecodeSync(*r);
        if (!reply.ok()) return done(reply.status(), -1);
        for (const SyncItem& item : reply->items) {
          const Seq seq = item.event.user_seq;
          if (count_events) {
            if (seq <= d.cursor) {
              ++d.duplicated;
              continue;
            }
            if (seq != d.cursor + 1) ++d.gaps;
            ++d.events;
          }
          d.cursor = std::max(d.cursor, seq);
        }
        if (reply->next > d.cursor) d.cursor = reply->next;
        if (reply->has_more) return SyncUntilCaughtUp(c, d, count_events, done);
        done(Status::Ok(), -1);
      });
}

// Every crowd member syncs to the head of its inbox on its open connection.
Status SyncCrowd(Crowd& crowd, std::vector<Device>& devices) {
  std::atomic<int> errors{0};
  auto out =
      RunPipelined(crowd.size(), 256, std::chrono::steady_clock::now() + std::chrono::seconds(300),
                   [&](int i, std::function<void(JobEnd)> end) {
                     SyncUntilCaughtUp(crowd.connection(i), devices[i], false,
                                       [&errors, end](Status st, int64_t) {
                                         if (!st.ok()) ++errors;
                                         end({st.ok() ? JobEnd::kDone : JobEnd::kFailed, 0});
                                       });
                   });
  if (out.done != crowd.size()) {
    return Status(Code::kUnavailable, fmt::format("initial sync: {} of {} devices failed",
                                                  crowd.size() - out.done, crowd.size()));
  }
  return Status::Ok();
}

// Calls `op` until it is not rate limited (bounded: 100 tries).
template <typename Op>
auto WithRetry(Op op) -> decltype(op(nullptr)) {
  for (int attempt = 0;; ++attempt) {
    int64_t retry_after_ms = -1;
    auto r = op(&retry_after_ms);
    if (r.ok() || attempt >= 100 || !Retryable(r.status())) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(retry_after_ms, 10)));
  }
}

struct Groups {
  std::vector<Account> senders;  // one per group, its creator
  std::vector<ConvId> convs;
};

// Groups of `size` devices, each created by a sender of its own (not a device: its own
// messages would not be missed events of the same kind).
Result<Groups> CreateGroups(const std::string& url, const std::string& prefix, const Crowd& crowd,
                            int size) {
  Groups g;
  const int count = (crowd.size() + size - 1) / size;
  PARLEY_ASSIGN_OR_RETURN(g.senders, Provision(url, prefix + "s", count));
  client::ConnectOptions o;
  o.url = url;
  for (int k = 0; k < count; ++k) {
    client::BlockingClient c(o);
    PARLEY_RETURN_IF_ERROR(c.Connect());
    PARLEY_RETURN_IF_ERROR(c.Auth(g.senders[k].token).status());
    std::vector<client::UserArg> members;
    for (int i = k * size; i < std::min(crowd.size(), (k + 1) * size); ++i) {
      members.emplace_back(crowd.accounts()[i].id);
    }
    auto conv =
        WithRetry([&](int64_t*) { return c.CreateGroup(fmt::format("storm {}", k), members); });
    if (!conv.ok()) return conv.status();
    g.convs.push_back(conv->id);
  }
  return g;
}

// K messages to every group, each acknowledged (durable) before the storm starts.
Status SendMissed(const std::string& url, const Groups& g, int missed) {
  client::ConnectOptions o;
  o.url = url;
  for (size_t k = 0; k < g.convs.size(); ++k) {
    client::BlockingClient c(o);
    PARLEY_RETURN_IF_ERROR(c.Connect());
    PARLEY_RETURN_IF_ERROR(c.Auth(g.senders[k].token).status());
    for (int m = 0; m < missed; ++m) {
      client::OutgoingMessage msg;
      msg.conv = g.convs[k];
      msg.body = fmt::format("missed {} of group {}", m, k);
      msg.client_msg_id = fmt::format("storm-{}-{}", k, m);
      auto ack = WithRetry([&](int64_t* retry) { return c.SendMessage(msg, retry); });
      if (!ack.ok()) return ack.status();
    }
  }
  return Status::Ok();
}

// One device's reconnect: connect, token auth, sync from its cursor until caught up.
void Reconnect(client::EventLoop& loop, const std::string& url, int i, const Account& account,
               Device& d, StormCounts& counts, std::function<void(JobEnd)> end) {
  if (d.start_ns == 0) d.start_ns = NowNanos();
  client::ConnectOptions o;
  o.url = url;
  o.bind_address = CrowdSourceAddress(i);
  o.connect_timeout_ms = 30000;
  auto c = client::Connection::Create(loop, o);
  d.conn = c;
  auto fail = [c, &counts, end](Status st, int64_t retry_after_ms, std::atomic<uint64_t>* kind) {
    c->Close();
    if (st.code() == Code::kRateLimited) ++counts.rate_limited;
    if (client::IsTransportError(st))
      ++counts.transport_errors;
    else if (kind)
      ++*kind;
    if (Retryable(st)) return end({JobEnd::kRetry, std::max<int64_t>(retry_after_ms, 20)});
    {
      std::lock_guard<std::mutex> lock(counts.mu);
      if (counts.first_error.empty()) counts.first_error = st.ToString();
    }
    end({JobEnd::kFailed, 0});
  };
  c->Connect([c, &account, &d, &counts, end, fail](Status st) {
    if (!st.ok()) return fail(st, 100, nullptr);
    c->Call(
        "auth", [&account](JsonWriter& w) { w.Key("token").String(account.token); },
        [c, &d, &counts, end, fail](Result<std::string> r, int64_t retry_after_ms) {
          if (!r.ok()) return fail(r.status(), retry_after_ms, &counts.auth_errors);
          SyncUntilCaughtUp(c, d, true, [&d, &counts, end, fail](Status sst, int64_t retry) {
            if (!sst.ok()) return fail(sst, retry, &counts.sync_errors);
            d.caught_up_ns = NowNanos();
            end({JobEnd::kDone, 0});
          });
        });
  });
}

struct StormResult {
  double all_caught_up_s = 0;
  PipelineOutcome pipeline;
  Latencies per_device;  // connect -> caught up
  uint64_t events = 0, duplicated = 0, gaps = 0, devices_short = 0;
};

StormResult Storm(const std::string& url, const Crowd& crowd, std::vector<Device>& devices,
                  const NetOptions& opt, StormCounts& counts) {
  StormResult res;
  client::EventLoop loop(1);
  const int window = opt.connects_in_flight > 0 ? opt.connects_in_flight : crowd.size();
  const int64_t t0 = NowNanos();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(opt.storm_limit_s));
  res.pipeline =
      RunPipelined(crowd.size(), window, deadline, [&](int i, std::function<void(JobEnd)> end) {
        Reconnect(loop, url, i, crowd.accounts()[i], devices[i], counts, end);
      });
  int64_t last = t0;
  // Late handlers may still touch the devices: stop the loop before reading them.
  for (auto& d : devices) {
    if (d.conn) d.conn->Close();
  }
  const auto close_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (auto& d : devices) {
    while (d.conn && d.conn->open() && std::chrono::steady_clock::now() < close_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  loop.Stop();
  for (auto& d : devices) {
    d.conn.reset();
    if (d.caught_up_ns > 0) {
      res.per_device.Add(d.caught_up_ns - d.start_ns);
      last = std::max(last, d.caught_up_ns);
    }
    res.events += d.events;
    res.duplicated += d.duplicated;
    res.gaps += d.gaps;
    if (d.events != static_cast<uint32_t>(opt.missed)) ++res.devices_short;
  }
  res.all_caught_up_s = static_cast<double>(last - t0) / 1e9;
  return res;
}

}  // namespace

int RunReconnectScenario(const NetOptions& opt) {
  auto target = OpenTarget(opt);
  if (!target.ok()) return fmt::print(stderr, "{}\n", target.status().ToString()), 1;
  const std::string prefix = fmt::format("rc{}x", NowNanos() % 1000000007);
  fmt::print("reconnect: {} devices, {} missed events each (groups of {}), {}\n", opt.devices,
             opt.missed, opt.group_size,
             opt.connects_in_flight > 0
                 ? fmt::format("{} reconnects at a time", opt.connects_in_flight)
                 : std::string("all reconnecting at once"));
  auto phase = [](const char* what, auto t0) {
    fmt::print("  {:<44} {:>6.1f} s\n", what,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  auto t0 = std::chrono::steady_clock::now();
  Crowd crowd(target->url, prefix + "d");
  if (Status st = crowd.GrowTo(opt.devices, std::chrono::seconds(900)); !st.ok()) {
    return fmt::print(stderr, "{}\n", st.ToString()), 1;
  }
  phase("devices registered, logged in, connected", t0);
  t0 = std::chrono::steady_clock::now();
  auto groups = CreateGroups(target->url, prefix, crowd, opt.group_size);
  if (!groups.ok()) return fmt::print(stderr, "{}\n", groups.status().ToString()), 1;
  phase(fmt::format("{} groups created", groups->convs.size()).c_str(), t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<Device> devices(opt.devices);
  if (Status st = SyncCrowd(crowd, devices); !st.ok()) {
    return fmt::print(stderr, "{}\n", st.ToString()), 1;
  }
  for (auto& d : devices) d.missed_from = d.cursor;
  crowd.Close();
  phase("devices synced, cursors saved, disconnected", t0);
  t0 = std::chrono::steady_clock::now();
  if (Status st = SendMissed(target->url, *groups, opt.missed); !st.ok()) {
    return fmt::print(stderr, "{}\n", st.ToString()), 1;
  }
  phase(fmt::format("{} messages sent while they were away",
                    groups->convs.size() * static_cast<size_t>(opt.missed))
            .c_str(),
        t0);

  StormCounts counts;
  ServerProbe probe(ProbeOptionsFor(*target, opt));
  probe.Begin();
  StormResult r = Storm(target->url, crowd, devices, opt, counts);
  probe.End();

  const uint64_t expected = static_cast<uint64_t>(opt.devices) * opt.missed;
  fmt::print("\n{:<30} {:>14}\n", "figure", "value");
  fmt::print("{:<30} {:>14.3f}\n", "all_caught_up_s", r.all_caught_up_s);
  fmt::print("{:<30} {:>14}\n", "devices caught up",
             fmt::format("{} / {}", r.pipeline.done, opt.devices));
  fmt::print("{:<30} {:>14.1f}\n", "device_p50_ms", r.per_device.PercentileMs(50));
  fmt::print("{:<30} {:>14.1f}\n", "device_p99_ms", r.per_device.PercentileMs(99));
  fmt::print("{:<30} {:>14.1f}\n", "device_max_ms", r.per_device.PercentileMs(100));
  fmt::print("{:<30} {:>14}\n", "auth errors", counts.auth_errors.load());
  fmt::print("{:<30} {:>14}\n", "sync errors", counts.sync_errors.load());
  fmt::print("{:<30} {:>14}\n", "rate_limited replies", counts.rate_limited.load());
  fmt::print("{:<30} {:>14}\n", "transport errors", counts.transport_errors.load());
  fmt::print("{:<30} {:>14}\n", "retries", r.pipeline.retries);
  fmt::print("{:<30} {:>14}\n", "events received / expected",
             fmt::format("{} / {}", r.events, expected));
  fmt::print("{:<30} {:>14}\n", "duplicated", r.duplicated);
  fmt::print("{:<30} {:>14}\n", "gaps", r.gaps);
  fmt::print("{:<30} {:>14}\n", "devices not exactly K events", r.devices_short);
  if (!counts.first_error.empty()) fmt::print("first error: {}\n", counts.first_error);
  const std::string server_json = probe.Report(r.events, "event caught up");
  fmt::print(
      "{{\"scenario\":\"reconnect\",\"devices\":{},\"missed\":{},\"group_size\":{},"
      "\"connects_in_flight\":{},\"all_caught_up_s\":{:.3f},\"caught_up\":{},"
      "\"device_p50_ms\":{:.1f},\"device_p99_ms\":{:.1f},\"device_max_ms\":{:.1f},"
      "\"auth_errors\":{},\"sync_errors\":{},\"rate_limited\":{},\"transport_errors\":{},"
      "\"retries\":{},\"events\":{},\"expected\":{},\"duplicated\":{},\"gaps\":{}{}}}\n",
      opt.devices, opt.missed, opt.group_size, opt.connects_in_flight, r.all_caught_up_s,
      r.pipeline.done, r.per_device.PercentileMs(50), r.per_device.PercentileMs(99),
      r.per_device.PercentileMs(100), counts.auth_errors.load(), counts.sync_errors.load(),
      counts.rate_limited.load(), counts.transport_errors.load(), r.pipeline.retries, r.events,
      expected, r.duplicated, r.gaps, server_json);
  const bool exact = r.events == expected && r.duplicated == 0 && r.gaps == 0 &&
                     r.devices_short == 0 && r.pipeline.done == opt.devices;
  return exact ? 0 : 1;
}

}  // namespace parley::bench
