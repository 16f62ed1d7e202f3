#include "client/backoff.h"

#include <algorithm>

namespace parley::client {

Backoff::Backoff(int64_t min_ms, int64_t max_ms, uint64_t seed)
    : min_ms_(std::max<int64_t>(1, min_ms)),
      max_ms_(std::max(min_ms_, max_ms)),
      ceiling_ms_(min_ms_),
      rng_(seed ? seed : std::random_device{}()) {}

int64_t Backoff::NextDelayMs() {
  const int64_t d = ceiling_ms_;
  const int64_t half = d / 2;
  const int64_t delay = half + static_cast<int64_t>(rng_() % static_cast<uint64_t>(d - half + 1));
  ceiling_ms_ = std::min(max_ms_, d > max_ms_ / 2 ? max_ms_ : d * 2);
  return delay;
}

}  // namespace parley::client
