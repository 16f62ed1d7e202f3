// A small Prometheus registry: counters, gauges and fixed-bucket histograms, updated
// lock-free on hot paths and rendered in the text exposition format 0.0.4 for GET /metrics.
//
// Written here rather than taken from prometheus-cpp (Debian 12 ships prometheus-cpp-dev
// 1.0.1) because what /metrics needs is small and sits on the message path: a counter or
// gauge is one integer atomic, cache-line-aligned so that threads bumping neighbouring
// counters do not share a line, updated with a relaxed fetch_add (no lock, no allocation);
// a histogram observation adds to its bucket and its sum, and its count is the buckets'
// total, so a scrape never sees _count differ from the +Inf bucket. The text is
// ours: families in registration order, series in creation order, labels sorted, which
// metrics_test checks byte for byte; parleyd serves it from its own HTTP listener
// (gateway/server.h). It needs nothing beyond the standard library.
//
// Thread-safety: updates are relaxed atomics, safe from any thread at any rate (no locks,
// no allocation). Registration and rendering take the registry's mutex; register at
// start-up and keep the returned reference, which lives as long as the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace parley::metrics {

// {key, value} pairs. Order does not matter: the registry sorts them by key, so
// {a,b} and {b,a} name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Aligned to a cache line so that counters bumped by
// different threads do not slow each other down (false sharing).
class alignas(64) Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (connections, queue depth).
class alignas(64) Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations counted into buckets with fixed upper bounds (inclusive, as Prometheus
// defines `le`), plus their sum. Bounds must be finite and strictly increasing; the +Inf
// bucket is implicit.
class Histogram {
 public:
  // Throws std::invalid_argument on unsorted, duplicate or non-finite bounds.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations in bucket i alone: in (bounds()[i-1], bounds()[i]]; i == bounds().size()
  // is the +Inf bucket.
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  // Observations <= bounds()[i]; i == bounds().size() is +Inf (all observations).
  uint64_t cumulative(size_t i) const;
  uint64_t count() const { return cumulative(bounds_.size()); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  // Per bucket, not cumulative: one relaxed increment per observation. The count is
  // their total rather than a separate atomic, so a scrape always sees
  // _count == _bucket{le="+Inf"}.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  // A double, not fixed-point: byte-sized observations would overflow a fixed-point int64
  // after a few million. fetch_add on atomic<double> is a lock-free CAS loop.
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each returns the series of `name` with exactly `labels`, creating it on first use.
  // Series of one name form one family (one # HELP / # TYPE; the first help text wins).
  // Throws std::invalid_argument on an invalid metric or label name, and
  // std::logic_error when a name is reused with another type (or other histogram bounds).
  Counter& counter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, Labels labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                       Labels labels = {});
  // A gauge computed at scrape time (resident memory, store statistics). `fn` runs under
  // the registry's mutex on the scraping thread: keep it quick, and do not call back into
  // the registry. Registering the same name and labels again replaces the function.
  void gauge_fn(const std::string& name, const std::string& help, std::function<double()> fn,
                Labels labels = {});

  // Text exposition format 0.0.4; families in registration order, series in creation order.
  std::string RenderPrometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;  // sorted by key
    Counter* counter = nullptr;
    Gauge* gauge = nullptr;
    Histogram* histogram = nullptr;
    std::function<double()> fn;
  };
  struct Family {
    std::string name, help;
    Type type;
    std::vector<Series> series;
  };
  // Both expect mu_ held. Find returns the family's series with `labels`, or nullptr.
  Family& FamilyFor(const std::string& name, const std::string& help, Type type);
  static Series* Find(Family& f, const Labels& labels);

  mutable std::mutex mu_;
  // Deques: growing them never moves existing elements, so references stay valid.
  std::deque<Family> families_;
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<Histogram> histograms_;
};

// Process facts for gauges; 0 when unavailable.
uint64_t ProcessRssBytes();  // resident set size, from /proc/self/statm
uint64_t OpenFileCount();    // entries in /proc/self/fd
uint64_t OpenFileLimit();    // soft RLIMIT_NOFILE

}  // namespace parley::metrics
