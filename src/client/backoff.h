// Backoff: the reconnect schedule of the reliable client — exponential with "equal
// jitter". Each delay is drawn from [d/2, d] where d starts at `min_ms` and doubles per
// failure up to `max_ms`. The jitter matters: after a server restart thousands of clients
// reconnect at once, and without it they would all come back in the same millisecond.
//
// Thread-safety: none; one owner.
#pragma once

#include <cstdint>
#include <random>

namespace parley::client {

class Backoff {
 public:
  // seed 0: a random seed.
  Backoff(int64_t min_ms, int64_t max_ms, uint64_t seed = 0);

  // The delay before the next attempt; each call doubles the ceiling for the one after.
  int64_t NextDelayMs();
  // After a success: the next delay starts from min_ms again.
  void Reset() { ceiling_ms_ = min_ms_; }
  int64_t ceiling_ms() const { return ceiling_ms_; }

 private:
  int64_t min_ms_;
  int64_t max_ms_;
  int64_t ceiling_ms_;
  std::mt19937_64 rng_;
};

}  // namespace parley::client
