// `pairs` and `group`: messages flowing over real WebSockets, measured end to end from the
// sender's send to the receiver's push, with loss, duplication and order checked.
// A ServerProbe brackets the measured window (first send to last delivery) and reports
// what it cost the server per delivered message.
#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "client/connection.h"
#include "crowd.h"
#include "latency.h"
#include "net_common.h"
#include "protocol/decode.h"

namespace parley::bench {
namespace {

struct Flow {
  std::vector<Account> accounts;       // one connection each
  std::vector<int> senders;            // account indexes that send
  std::vector<ConvId> conv_of_sender;  // parallel to senders
  // (receiver account, sender index) streams expected to deliver.
  std::vector<std::pair<int, int>> streams;
};

using Outcome = FlowOutcome;

// One run of a flow: a connection per account, the senders' sends, the receivers' pushes
// checked for loss, duplication and order. Every handler runs on the loop's thread and
// takes mu_; the loop is stopped before the run's state goes away.
class FlowRun {
 public:
  FlowRun(const Flow& flow, const NetOptions& opt, const FlowHooks& hooks)
      : flow_(flow),
        opt_(opt),
        hooks_(hooks),
        acked_(flow.senders.size(), 0),
        next_n_(flow.senders.size(), 0) {}

  Outcome Run(const std::string& url) {
    ConnectAll(url);
    if (hooks_.started) hooks_.started();
    const auto start = std::chrono::steady_clock::now();
    Drive(start);
    sending_ = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      measuring_ = false;
    }
    out_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    DrainAndCount();
    if (hooks_.finished) hooks_.finished();
    for (auto& c : conns_) c->Close();
    // No handler may run once the state above goes out of scope.
    loop_.Stop();
    return out_;
  }

 private:
  // Connects and authenticates one connection per account (bounded wait: 30 s).
  void ConnectAll(const std::string& url) {
    for (size_t i = 0; i < flow_.accounts.size(); ++i) {
      client::ConnectOptions o;
      o.url = url;
      auto c = client::Connection::Create(loop_, o);
      const int receiver = static_cast<int>(i);
      c->SetPushHandler([this, receiver](std::string frame) { OnPush(receiver, frame); });
      conns_.push_back(c);
      const Account& a = flow_.accounts[i];
      c->Connect([this, c, &a](Status st) {
        if (!st.ok()) return void(++failed_);
        c->Call(
            "auth",
            [&a](JsonWriter& w) { w.Key("token").String(a.token).Key("push_batch").Bool(true); },
            [this](Result<std::string> r, int64_t) { r.ok() ? ++ready_ : ++failed_; });
      });
    }
    for (int i = 0; i < 3000 && ready_ + failed_ < static_cast<int>(conns_.size()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded wait for set-up
    }
    if (failed_ > 0 || ready_ < static_cast<int>(conns_.size())) {
      fmt::print("only {} of {} connections authenticated\n", ready_.load(), conns_.size());
    }
  }

  // A push frame for `receiver` (one push, or a batch of them): each message recorded for
  // the check and its latency.
  void OnPush(int receiver, const std::string& frame) {
    auto pushes = DecodePushes(frame);
    if (!pushes.ok()) return;
    const int64_t now = NowNanos();
    for (const Push& push : *pushes) {
      if (push.kind != Push::Kind::kEvent || !push.item.message) continue;
      if (push.item.event.type != EventType::kMessage) continue;
      int sender;
      uint64_t n;
      int64_t sent;
      if (!ParseBody(push.item.message->body, &sender, &n, &sent)) continue;
      if (flow_.senders[sender] == receiver) continue;  // the sender's own copy
      std::lock_guard<std::mutex> lock(mu_);
      check_.Record(receiver, sender, n);
      out_.latency.Add(now - sent);
      if (measuring_) ++out_.delivered_in_window;
    }
  }

  // One send of sender s; in window mode its ack triggers the next.
  void SendOne(size_t s) {
    uint64_t n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = next_n_[s]++;
      ++out_.sent;
    }
    std::string body = Body(static_cast<int>(s), n);
    std::string cmid = fmt::format("b{}-{}", s, n);
    ConvId conv = flow_.conv_of_sender[s];
    const int phase = hooks_.phase ? hooks_.phase->load() : 0;
    const int64_t t0 = NowNanos();
    conns_[flow_.senders[s]]->Call(
        "send",
        [body, cmid, conv](JsonWriter& w) {
          w.Key("conv").Uint(conv).Key("client_msg_id").String(cmid).Key("body").String(body);
        },
        [this, s, phase, t0](Result<std::string> r, int64_t) {
          const int64_t took = NowNanos() - t0;
          {
            std::lock_guard<std::mutex> lock(mu_);
            if (r.ok()) {
              ++acked_[s];
              ++out_.acked;
              if (phase >= 0 && phase < Outcome::kPhases) out_.ack_latency[phase].Add(took);
            } else {
              ++out_.errors;
            }
          }
          if (opt_.rate <= 0 && sending_) SendOne(s);
        });
  }

  // Sends for opt_.seconds (or while hooks_.keep_sending says so): each sender keeps a
  // window in flight, or, with a rate, sends are paced round-robin.
  void Drive(std::chrono::steady_clock::time_point start) {
    const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(opt_.seconds));
    auto go_on = [&] {
      return std::chrono::steady_clock::now() < end &&
             (!hooks_.keep_sending || hooks_.keep_sending());
    };
    if (opt_.rate <= 0) {
      for (size_t s = 0; s < flow_.senders.size(); ++s) {
        for (int w = 0; w < opt_.window; ++w) SendOne(s);
      }
      if (!hooks_.keep_sending) std::this_thread::sleep_until(end);
      while (go_on()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      // Paced: every millisecond, issue what the target rate says is due, round-robin.
      uint64_t issued = 0;
      size_t rr = 0;
      while (go_on()) {
        double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        auto due = static_cast<uint64_t>(elapsed * opt_.rate);
        for (; issued < due; ++issued) SendOne(rr++ % flow_.senders.size());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  // Waits (bounded: 10 s) for every acknowledged message to arrive, then counts.
  void DrainAndCount() {
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (out_.acked + out_.errors >= out_.sent && check_.Lost(flow_.streams, acked_) == 0) {
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(mu_);
    out_.lost = check_.Lost(flow_.streams, acked_);
    out_.duplicated = check_.duplicated();
    out_.reordered = check_.reordered();
  }

  const Flow& flow_;
  const NetOptions& opt_;
  const FlowHooks& hooks_;
  client::EventLoop loop_{1};  // first: it outlives the state its handlers use
  std::mutex mu_;
  DeliveryCheck check_;
  Outcome out_;
  std::vector<uint64_t> acked_, next_n_;  // per sender
  std::atomic<bool> sending_{true}, measuring_{true};
  std::vector<std::shared_ptr<client::Connection>> conns_;
  std::atomic<int> ready_{0}, failed_{0};
};

Outcome RunFlow(const std::string& url, const Flow& flow, const NetOptions& opt,
                const FlowHooks& hooks = {}) {
  return FlowRun(flow, opt, hooks).Run(url);
}

// Prints the run's figures, then the server's (`probe`, for `deliveries` messages);
// returns the final JSON line.
std::string Report(const std::string& scenario, const std::string& rate_key, const Outcome& o_in,
                   const std::string& extra_json, const ServerProbe& probe) {
  Outcome o = o_in;
  double per_s = static_cast<double>(o.delivered_in_window) / o.seconds;
  fmt::print("\n{:<22} {:>14}\n", "figure", "value");
  fmt::print("{:<22} {:>14.0f}\n", rate_key, per_s);
  fmt::print("{:<22} {:>14}\n", "sent / acked", fmt::format("{} / {}", o.sent, o.acked));
  fmt::print("{:<22} {:>14}\n", "send errors", o.errors);
  fmt::print("{:<22} {:>14.3f}\n", "p50_ms", o.latency.PercentileMs(50));
  fmt::print("{:<22} {:>14.3f}\n", "p99_ms", o.latency.PercentileMs(99));
  fmt::print("{:<22} {:>14.3f}\n", "p999_ms", o.latency.PercentileMs(99.9));
  fmt::print("{:<22} {:>14}\n", "lost", o.lost);
  fmt::print("{:<22} {:>14}\n", "duplicated", o.duplicated);
  fmt::print("{:<22} {:>14}\n", "reordered", o.reordered);
  const std::string server_json = probe.Report(o.latency.count());
  return fmt::format(
      "{{\"scenario\":\"{}\",\"{}\":{:.0f},\"p50_ms\":{:.3f},\"p99_ms\":{:.3f},\"p999_ms\":{:.3f},"
      "\"sent\":{},\"acked\":{},\"errors\":{},\"lost\":{},\"duplicated\":{},\"reordered\":{}{}{}}}",
      scenario, rate_key, per_s, o.latency.PercentileMs(50), o.latency.PercentileMs(99),
      o.latency.PercentileMs(99.9), o.sent, o.acked, o.errors, o.lost, o.duplicated, o.reordered,
      extra_json, server_json);
}

// Brackets a flow's measured window (from the first send to the last delivery) with the
// probe.
FlowHooks ProbeHooks(ServerProbe& probe) {
  FlowHooks hooks;
  hooks.started = [&probe] { probe.Begin(); };
  hooks.finished = [&probe] { probe.End(); };
  return hooks;
}

std::string RunPrefix() { return fmt::format("b{}x", NowNanos() % 1000000007); }

}  // namespace

int RunPairsScenario(const NetOptions& opt) {
  auto target = OpenTarget(opt);
  if (!target.ok()) return fmt::print(stderr, "{}\n", target.status().ToString()), 1;
  return RunPairsOn(*target, opt);
}

Result<FlowOutcome> RunPairsTraffic(const std::string& url, const NetOptions& opt,
                                    const FlowHooks& hooks) {
  PARLEY_ASSIGN_OR_RETURN(auto accounts, Provision(url, RunPrefix() + "p", opt.pairs * 2));
  Flow flow;
  flow.accounts = std::move(accounts);
  client::ConnectOptions o;
  o.url = url;
  for (int p = 0; p < opt.pairs; ++p) {
    client::BlockingClient a(o);
    PARLEY_RETURN_IF_ERROR(a.Connect());
    PARLEY_RETURN_IF_ERROR(a.Auth(flow.accounts[2 * p].token).status());
    PARLEY_ASSIGN_OR_RETURN(auto conv, a.OpenDirect(flow.accounts[2 * p + 1].id));
    for (int side = 0; side < 2; ++side) {
      flow.senders.push_back(2 * p + side);
      flow.conv_of_sender.push_back(conv.id);
      int sender_index = static_cast<int>(flow.senders.size()) - 1;
      flow.streams.emplace_back(2 * p + (1 - side), sender_index);
    }
  }
  return RunFlow(url, flow, opt, hooks);
}

Result<PairsMeasurement> MeasurePairs(const Target& target, const NetOptions& opt) {
  fmt::print(
      "pairs: {} pairs, {} s, rate {}\n", opt.pairs, opt.seconds,
      opt.rate > 0 ? fmt::format("{}/s", opt.rate) : fmt::format("max (window {})", opt.window));
  ServerProbe probe(ProbeOptionsFor(target, opt));
  PARLEY_ASSIGN_OR_RETURN(FlowOutcome out, RunPairsTraffic(target.url, opt, ProbeHooks(probe)));
  PairsMeasurement m;
  m.json = Report("pairs", "delivered_per_s", out,
                  fmt::format(",\"pairs\":{},\"idle\":{}", opt.pairs, opt.idle), probe);
  m.delivered_per_s = static_cast<double>(out.delivered_in_window) / out.seconds;
  m.p50_ms = out.latency.PercentileMs(50);
  m.p99_ms = out.latency.PercentileMs(99);
  m.p999_ms = out.latency.PercentileMs(99.9);
  m.server = probe.Figures(out.latency.count());
  m.flow = std::move(out);
  return m;
}

int RunPairsOn(const Target& target, const NetOptions& opt) {
  std::unique_ptr<Crowd> idle;
  if (opt.idle > 0) {
    const auto t0 = std::chrono::steady_clock::now();
    idle = std::make_unique<Crowd>(target.url, RunPrefix() + "i");
    if (Status st = idle->GrowTo(opt.idle, std::chrono::seconds(600)); !st.ok()) {
      return fmt::print(stderr, "{}\n", st.ToString()), 1;
    }
    fmt::print("idle: {} users connected and logged in ({:.1f} s); they stay idle\n", opt.idle,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  auto m = MeasurePairs(target, opt);
  if (!m.ok()) return fmt::print(stderr, "{}\n", m.status().ToString()), 1;
  fmt::print("{}\n", m->json);
  return m->flow.lost + m->flow.duplicated + m->flow.reordered == 0 ? 0 : 1;
}

int RunGroupScenario(const NetOptions& opt) {
  auto target = OpenTarget(opt);
  if (!target.ok()) return fmt::print(stderr, "{}\n", target.status().ToString()), 1;
  fmt::print(
      "group: {} members, {} s, rate {}\n", opt.members, opt.seconds,
      opt.rate > 0 ? fmt::format("{}/s", opt.rate) : fmt::format("max (window {})", opt.window));
  auto accounts = Provision(target->url, RunPrefix() + "g", opt.members);
  if (!accounts.ok()) return fmt::print(stderr, "{}\n", accounts.status().ToString()), 1;
  Flow flow;
  flow.accounts = *accounts;
  client::ConnectOptions o;
  o.url = target->url;
  client::BlockingClient owner(o);
  if (!owner.Connect().ok() || !owner.Auth(flow.accounts[0].token).ok()) return 1;
  std::vector<client::UserArg> members;
  for (int i = 1; i < opt.members; ++i) members.emplace_back(flow.accounts[i].id);
  auto group = owner.CreateGroup("bench", members);
  if (!group.ok()) return fmt::print(stderr, "{}\n", group.status().ToString()), 1;
  flow.senders = {0};
  flow.conv_of_sender = {group->id};
  for (int i = 1; i < opt.members; ++i) flow.streams.emplace_back(i, 0);
  ServerProbe probe(ProbeOptionsFor(*target, opt));
  Outcome out = RunFlow(target->url, flow, opt, ProbeHooks(probe));
  fmt::print("{}\n", Report("group", "deliveries_per_s", out,
                            fmt::format(",\"members\":{}", opt.members), probe));
  return out.lost + out.duplicated + out.reordered == 0 ? 0 : 1;
}

}  // namespace parley::bench
