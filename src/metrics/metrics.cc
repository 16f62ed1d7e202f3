// Registry bookkeeping and the Prometheus text rendering (exposition format 0.0.4).
#include "metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

namespace parley::metrics {
namespace {

// Label values escape \, " and newline; HELP text escapes only \ and newline.
std::string Escape(const std::string& v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// Shortest text that reads back as the same double ("0.005", "3", "1e+20"), with the
// spellings Prometheus expects for the special values.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

// `{a="1",b="2"}`, with histograms' `le` last; empty when there are no labels.
std::string LabelText(const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && !le) return {};
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ',';
    out += k + "=\"" + Escape(v, true) + "\"";
  }
  if (le) out += std::string(out.size() > 1 ? "," : "") + "le=\"" + *le + "\"";
  return out + "}";
}

bool ValidName(const std::string& s, bool allow_colon) {
  auto ok = [&](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (allow_colon && c == ':') || (!first && c >= '0' && c <= '9');
  };
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!ok(s[i], i == 0)) return false;
  }
  return true;
}

// Sorted by key, so label order at registration does not create a second series.
// Label names starting with "__" are reserved by Prometheus; `le` belongs to histograms.
Labels Canonical(Labels labels, const std::string& metric) {
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& k = labels[i].first;
    if (!ValidName(k, false) || k.rfind("__", 0) == 0 || k == "le" ||
        (i > 0 && labels[i - 1].first == k)) {
      throw std::invalid_argument("metric " + metric + ": bad or duplicate label name '" + k + "'");
    }
  }
  return labels;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // First bound >= v: bounds are inclusive upper limits. NaN compares false with every
  // bound, so put it in +Inf explicitly rather than wherever the search lands.
  size_t i = std::isnan(v)
                 ? bounds_.size()
                 : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                       bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::cumulative(size_t i) const {
  uint64_t n = 0;
  for (size_t j = 0; j <= std::min(i, bounds_.size()); ++j) {
    n += bucket(j);
  }
  return n;
}

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help, Type type) {
  if (!ValidName(name, true)) throw std::invalid_argument("bad metric name '" + name + "'");
  for (auto& f : families_) {
    if (f.name == name) {
      if (f.type != type) throw std::logic_error("metric " + name + " registered with two types");
      return f;
    }
  }
  families_.push_back(Family{name, help, type, {}});
  return families_.back();
}

Registry::Series* Registry::Find(Family& f, const Labels& labels) {
  for (auto& s : f.series) {
    if (s.labels == labels) return &s;
  }
  return nullptr;
}

Counter& Registry::counter(const std::string& name, const std::string& help, Labels labels) {
  labels = Canonical(std::move(labels), name);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kCounter);
  if (Series* s = Find(f, labels)) return *s->counter;
  counters_.emplace_back();
  f.series.push_back(Series{std::move(labels), &counters_.back(), nullptr, nullptr, {}});
  return counters_.back();
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, Labels labels) {
  labels = Canonical(std::move(labels), name);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kGauge);
  if (Series* s = Find(f, labels)) {
    if (!s->gauge) throw std::logic_error("metric " + name + " is already a gauge_fn");
    return *s->gauge;
  }
  gauges_.emplace_back();
  f.series.push_back(Series{std::move(labels), nullptr, &gauges_.back(), nullptr, {}});
  return gauges_.back();
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds, Labels labels) {
  labels = Canonical(std::move(labels), name);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kHistogram);
  // One family shares its buckets: Prometheus aggregates `le` across series.
  if (!f.series.empty() && f.series.front().histogram->bounds() != bounds) {
    throw std::logic_error("histogram " + name + " registered with two sets of bounds");
  }
  if (Series* s = Find(f, labels)) return *s->histogram;
  histograms_.emplace_back(std::move(bounds));
  f.series.push_back(Series{std::move(labels), nullptr, nullptr, &histograms_.back(), {}});
  return histograms_.back();
}

void Registry::gauge_fn(const std::string& name, const std::string& help,
                        std::function<double()> fn, Labels labels) {
  labels = Canonical(std::move(labels), name);
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = FamilyFor(name, help, Type::kGauge);
  if (Series* s = Find(f, labels)) {
    if (!s->fn) throw std::logic_error("metric " + name + " is already a plain gauge");
    s->fn = std::move(fn);
    return;
  }
  f.series.push_back(Series{std::move(labels), nullptr, nullptr, nullptr, std::move(fn)});
}

std::string Registry::RenderPrometheus() const {
  static const char* const kTypeNames[] = {"counter", "gauge", "histogram"};
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + Escape(f.help, false) + "\n";
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
        // One pass over the buckets: the running total is both each cumulative bucket and,
        // at the end, _count, so the two agree even while observations arrive.
        uint64_t total = 0;
        for (size_t i = 0; i <= h.bounds().size(); ++i) {
          total += h.bucket(i);
          const std::string le = i < h.bounds().size() ? Number(h.bounds()[i]) : "+Inf";
          out += f.name + "_bucket" + LabelText(s.labels, &le) + " " + std::to_string(total) + "\n";
        }
        out += f.name + "_sum" + LabelText(s.labels) + " " + Number(h.sum()) + "\n";
        out += f.name + "_count" + LabelText(s.labels) + " " + std::to_string(total) + "\n";
      }
    }
  }
  return out;
}

}  // namespace parley::metrics
