#include "metrics/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace parley::metrics {
namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// `{a="1",b="2"}` with an optional extra label (histogram `le`); empty if no labels.
std::string LabelText(const Labels& labels, const char* extra_key = nullptr,
                      const std::string& extra_value = {}) {
  if (labels.empty() && !extra_key) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + Escape(v) + "\"";
  }
  if (extra_key) {
    if (!first) out += ',';
    out += std::string(extra_key) + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<int64_t>(std::llround(v * 1e6)), std::memory_order_relaxed);
}

uint64_t Histogram::cumulative(size_t i) const {
  uint64_t n = 0;
  for (size_t j = 0; j <= i && j <= bounds_.size(); ++j)
    n += buckets_[j].load(std::memory_order_relaxed);
  return n;
}

double Histogram::sum() const {
  return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6;
}

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help, Type type) {
  for (auto& f : families_) {
    if (f.name == name) {
      if (f.type != type) throw std::logic_error("metric " + name + " registered with two types");
      return f;
    }
  }
  families_.push_back(Family{name, help, type, {}});
  return families_.back();
}

Counter& Registry::counter(const std::string& name, const std::string& help, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kCounter);
  for (auto& s : f.series) {
    if (s.labels == labels && s.counter) return *s.counter;
  }
  counters_.emplace_back();
  f.series.push_back(Series{std::move(labels), &counters_.back(), nullptr, nullptr, {}});
  return counters_.back();
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kGauge);
  for (auto& s : f.series) {
    if (s.labels == labels && s.gauge) return *s.gauge;
  }
  gauges_.emplace_back();
  f.series.push_back(Series{std::move(labels), nullptr, &gauges_.back(), nullptr, {}});
  return gauges_.back();
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kHistogram);
  for (auto& s : f.series) {
    if (s.labels == labels && s.histogram) return *s.histogram;
  }
  histograms_.emplace_back(std::move(bounds));
  f.series.push_back(Series{std::move(labels), nullptr, nullptr, &histograms_.back(), {}});
  return histograms_.back();
}

void Registry::gauge_fn(const std::string& name, const std::string& help,
                        std::function<double()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kGauge);
  f.series.push_back(Series{{}, nullptr, nullptr, nullptr, std::move(fn)});
}

std::string Registry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    static const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + kTypeNames[static_cast<int>(f.type)] + "\n";
    for (const auto& s : f.series) {
      if (s.counter) {
        out += f.name + LabelText(s.labels) + " " + std::to_string(s.counter->value()) + "\n";
      } else if (s.gauge) {
        out += f.name + LabelText(s.labels) + " " + std::to_string(s.gauge->value()) + "\n";
      } else if (s.fn) {
        out += f.name + LabelText(s.labels) + " " + Number(s.fn()) + "\n";
      } else if (s.histogram) {
        const Histogram& h = *s.histogram;
        for (size_t i = 0; i <= h.bounds().size(); ++i) {
          std::string le = i < h.bounds().size() ? Number(h.bounds()[i]) : "+Inf";
          out += f.name + "_bucket" + LabelText(s.labels, "le", le) + " " +
                 std::to_string(h.cumulative(i)) + "\n";
        }
        out += f.name + "_sum" + LabelText(s.labels) + " " + Number(h.sum()) + "\n";
        out += f.name + "_count" + LabelText(s.labels) + " " + std::to_string(h.count()) + "\n";
      }
    }
  }
  return out;
}

uint64_t ProcessRssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

uint64_t OpenFileCount() {
  std::error_code ec;
  uint64_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

uint64_t OpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  return rl.rlim_cur;
}

}  // namespace parley::metrics
