// SharedLimits: rate limits that hold across every node of a cluster — logins per
// account, registrations per client IP, connections per client IP — counted in Redis by
// one Lua script, so a guesser spreading attempts over nodes meets one budget.
//
// Algorithm: GCRA (the generic cell rate algorithm), not a fixed window. One key per
// (limit, subject) holds a single number, the "theoretical arrival time"; an attempt is
// allowed when it does not push that time more than `burst` emission intervals ahead of
// now, and otherwise the script returns exactly how long to wait. Unlike a fixed window,
// it never lets 2× the budget through around a window boundary, and unlike a sliding log
// it stores one value per key. Time is Redis's (TIME), so node clocks do not matter.
//   key parley:limit:{limit}:{subject}  value = TAT in ms, PEXPIRE'd at TAT
// The script runs by EVALSHA; on NOSCRIPT (a restarted or flushed Redis) it is sent
// again with EVAL, which also caches it.
//
// Redis down, or slow past the command timeout: the verdict is "allowed" (fail open) and
// counted (parley_redis_limit_fail_open_total) — the node's own limits (src/limits) still
// apply, as they always do.
//
// Two ways to ask:
//  - Acquire: the exact verdict, asynchronously (callback on the io thread).
//  - Admit: answers at once from what Redis said about this subject before, and sends
//    this attempt to be counted. For hot paths that must not wait on Redis (the accept
//    loop, the session thread): across nodes the budget may be overshot by the attempts
//    made during one Redis round trip.
//
// Thread-safety: all methods from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cluster/redis_connection.h"
#include "metrics/metrics.h"

namespace parley::cluster {

enum class SharedLimit : uint8_t { kLogin = 0, kRegister = 1, kConnect = 2 };
inline constexpr size_t kSharedLimitCount = 3;

struct LimitRule {
  double rate_per_s = 1;  // sustained attempts per second; <= 0: the limit is off
  double burst = 10;      // attempts allowed at once (>= 1)
};

struct SharedLimitsOptions {
  // Per SharedLimit, in enum order. Defaults: logins per account 1/s burst 20;
  // registrations per IP 0.1/s burst 100; connections per IP 100/s burst 1000 (parleyd
  // takes the latter two from [limits]).
  LimitRule rules[kSharedLimitCount] = {{1, 20}, {0.1, 100}, {100, 1000}};
  // Subjects whose last verdict Admit remembers, at most (then it forgets them all).
  // Default: 100,000.
  size_t max_remembered = 100'000;
};

struct LimitVerdict {
  bool allowed = true;
  int64_t retry_after_ms = 0;  // when refused
  bool shared = true;          // false: Redis did not answer (failed open)
};

class SharedLimits {
 public:
  // `conn` and `registry` must outlive this object.
  SharedLimits(RedisConnection& conn, SharedLimitsOptions options, metrics::Registry& registry);

  void Acquire(SharedLimit limit, std::string_view subject, std::function<void(LimitVerdict)> done);
  // See above; returns at once. retry_after_ms set when refused.
  LimitVerdict Admit(SharedLimit limit, std::string_view subject);

  static std::string Key(SharedLimit limit, std::string_view subject);
  static const char* Name(SharedLimit limit);
  uint64_t fail_open() const { return fail_open_.value(); }

 private:
  void Run(const std::string& key, const LimitRule& rule, bool with_source,
           std::function<void(LimitVerdict)> done);

  RedisConnection& conn_;
  const SharedLimitsOptions options_;
  metrics::Counter& fail_open_;
  metrics::Counter* refused_[kSharedLimitCount];
  std::mutex mu_;
  // Admit's memory: key -> refused until (steady clock, ms). Guarded by mu_.
  std::unordered_map<std::string, int64_t> refused_until_;
};

}  // namespace parley::cluster
