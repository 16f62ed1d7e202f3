// FailureBackoff: growing lockouts after repeated failures, per key (an account name, a
// client IP). The login limiter of the gateway: a few failures are free (typos happen),
// then every further failure locks the key for a time that doubles, up to a cap; a
// success resets the key; a key with no failure for `forget_after_us` starts afresh.
//
//   failures 1..free         no lockout
//   failure free+1           initial_us
//   failure free+k           initial_us * 2^(k-1), at most max_us
//
// Memory: at most `max_keys` keys are kept. When full, keys whose lockout has passed are
// dropped; if every key is still locked, a new key is not tracked (its failures are then
// only counted by the other limits) rather than letting a flood of invented keys grow
// the map or push out the keys that matter.
//
// Thread-safety: all methods are thread-safe (one mutex: every call is a hash-map lookup,
// and callers are login attempts, which cost milliseconds of hashing each).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley {

struct BackoffPolicy {
  // Failures before the first lockout; 0 turns the limiter off.
  size_t free_failures = 5;
  int64_t initial_us = 1'000'000;
  int64_t max_us = 60'000'000;
  // A key with no failure for this long is forgotten (its count starts again at 0).
  int64_t forget_after_us = 15LL * 60 * 1'000'000;
  size_t max_keys = 100'000;
};

class FailureBackoff {
 public:
  explicit FailureBackoff(BackoffPolicy policy) : policy_(policy) {}

  bool enabled() const { return policy_.free_failures > 0; }
  // 0 if `key` may try now, else the microseconds until its lockout ends.
  int64_t Check(std::string_view key, int64_t now_us);
  // Records a failure of `key`; returns the lockout it starts (0 while failures are free).
  int64_t Fail(std::string_view key, int64_t now_us);
  // A success: forgets `key`.
  void Reset(std::string_view key);
  size_t size() const;

 private:
  struct Entry {
    size_t failures = 0;
    int64_t last_failure_us = 0;
    int64_t locked_until_us = 0;
  };
  // Drops forgotten keys, and (if `expired_locks`) keys whose lockout has passed. mu_ held.
  void Sweep(int64_t now_us, bool expired_locks);

  const BackoffPolicy policy_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  uint64_t calls_ = 0;                              // guarded by mu_
};

}  // namespace parley
