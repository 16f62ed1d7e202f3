// `population`: does the cost of a message grow with the work or with the population?
// The same `pairs` measurement runs on one server beside 0, then 1,000, then 10,000 users
// that are connected and logged in but idle (NetOptions::idle_sweep; the crowd only
// grows, so the populations are measured in ascending order). Issue 12's target: the
// delivered rate beside 10,000 idle users within 10% of the rate beside none.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "crowd.h"
#include "net_common.h"

namespace parley::bench {
namespace {

struct Step {
  int idle = 0;
  double grow_s = 0;  // to connect and log the new idle users in
  PairsMeasurement median;
  std::vector<double> rates;  // each run's delivered/s
  uint64_t lost = 0, duplicated = 0, reordered = 0;
};

std::string Figure(std::optional<double> v, int decimals) {
  return v ? fmt::format("{:.{}f}", *v, decimals) : std::string("n/a");
}
std::string Json(std::optional<double> v, int decimals) {
  return v ? fmt::format("{:.{}f}", *v, decimals) : std::string("null");
}

// Runs opt.repeat measurements; the one with the median rate stands for the step.
Result<Step> MeasureStep(const Target& target, const NetOptions& opt, Crowd& crowd, int idle) {
  Step step;
  step.idle = idle;
  const auto t0 = std::chrono::steady_clock::now();
  PARLEY_RETURN_IF_ERROR(crowd.GrowTo(idle, std::chrono::seconds(600)));
  step.grow_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("\n=== {} idle users connected and logged in ({:.1f} s to add) ===\n", idle,
             step.grow_s);
  NetOptions run = opt;
  run.idle = idle;
  std::vector<PairsMeasurement> runs;
  for (int r = 0; r < opt.repeat; ++r) {
    PARLEY_ASSIGN_OR_RETURN(PairsMeasurement m, MeasurePairs(target, run));
    step.rates.push_back(m.delivered_per_s);
    step.lost += m.flow.lost;
    step.duplicated += m.flow.duplicated;
    step.reordered += m.flow.reordered;
    runs.push_back(std::move(m));
  }
  std::sort(runs.begin(), runs.end(),
            [](const auto& a, const auto& b) { return a.delivered_per_s < b.delivered_per_s; });
  step.median = std::move(runs[runs.size() / 2]);
  return step;
}

}  // namespace

int RunPopulationScenario(const NetOptions& opt_in) {
  NetOptions opt = opt_in;
  std::sort(opt.idle_sweep.begin(), opt.idle_sweep.end());
  opt.idle_sweep.erase(std::unique(opt.idle_sweep.begin(), opt.idle_sweep.end()),
                       opt.idle_sweep.end());
  if (opt.idle_sweep.empty()) return fmt::print(stderr, "--idle-sweep is empty\n"), 2;
  auto target = OpenTarget(opt);
  if (!target.ok()) return fmt::print(stderr, "{}\n", target.status().ToString()), 1;
  fmt::print("population: {} pairs beside {} idle users, {} run(s) each\n", opt.pairs,
             fmt::join(opt.idle_sweep, " / "), opt.repeat);
  Crowd crowd(target->url, fmt::format("pop{}x", NowNanos() % 1000000007));
  std::vector<Step> steps;
  for (int idle : opt.idle_sweep) {
    auto step = MeasureStep(*target, opt, crowd, idle);
    if (!step.ok()) return fmt::print(stderr, "{}\n", step.status().ToString()), 1;
    steps.push_back(std::move(*step));
  }

  // The reference: the population of 0 if measured, else the smallest.
  const double base = steps.front().median.delivered_per_s;
  fmt::print("\n{:>8} {:>12} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10}\n", "idle", "delivered/s",
             "ratio", "p50_ms", "p99_ms", "cpu_s/1k", "sysc/msg", "frames/msg");
  std::string json =
      fmt::format("{{\"scenario\":\"population\",\"pairs\":{},\"repeat\":{},\"steps\":[", opt.pairs,
                  opt.repeat);
  uint64_t bad = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const PairsMeasurement& m = s.median;
    const double ratio = base > 0 ? m.delivered_per_s / base : 0;
    std::optional<double> frames;
    if (m.server.frames_in && m.server.frames_out) {
      frames = *m.server.frames_in + *m.server.frames_out;
    }
    fmt::print("{:>8} {:>12.0f} {:>8.3f} {:>8.3f} {:>8.3f} {:>10} {:>10} {:>10}\n", s.idle,
               m.delivered_per_s, ratio, m.p50_ms, m.p99_ms, Figure(m.server.cpu_s_per_1k, 4),
               Figure(m.server.syscalls, 2), Figure(frames, 3));
    json += fmt::format(
        "{}{{\"idle\":{},\"delivered_per_s\":{:.0f},\"ratio_to_first\":{:.3f},\"runs\":[{:.0f}],"
        "\"p50_ms\":{:.3f},\"p99_ms\":{:.3f},\"server_cpu_s_per_1k_msgs\":{},"
        "\"syscalls_per_msg\":{},\"frames_per_msg\":{},\"lost\":{},\"duplicated\":{},"
        "\"reordered\":{}}}",
        i ? "," : "", s.idle, m.delivered_per_s, ratio, fmt::join(s.rates, ","), m.p50_ms, m.p99_ms,
        Json(m.server.cpu_s_per_1k, 4), Json(m.server.syscalls, 2), Json(frames, 3), s.lost,
        s.duplicated, s.reordered);
    bad += s.lost + s.duplicated + s.reordered;
  }
  fmt::print("(ratio: delivered/s against the first population, {}; issue 12's target: >= 0.9)\n",
             steps.front().idle);
  fmt::print("{}]}}\n", json);
  return bad == 0 ? 0 : 1;
}

}  // namespace parley::bench
