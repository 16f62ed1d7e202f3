// Latency samples and their percentiles, for the benchmark's reports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace parley::bench {

class Latencies {
 public:
  void Add(int64_t nanos) { samples_.push_back(nanos); }
  void Merge(const Latencies& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  }
  size_t count() const { return samples_.size(); }
  // p in [0, 100]; milliseconds. 0 when empty.
  double PercentileMs(double p) {
    if (samples_.empty()) return 0;
    std::sort(samples_.begin(), samples_.end());
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(samples_.size() - 1) + 0.5);
    return static_cast<double>(samples_[std::min(i, samples_.size() - 1)]) / 1e6;
  }

 private:
  std::vector<int64_t> samples_;
};

}  // namespace parley::bench
