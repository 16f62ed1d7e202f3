// TokenBucket: the classic rate limiter. `rate` tokens per second refill a bucket that
// holds at most `burst`; a request takes `cost` tokens or is told how long to wait.
// Time is passed in (microseconds on any monotonic clock) so tests can drive it and hot
// paths read the clock once for several buckets.
//
// Thread-safety: none. One bucket per connection, used on that connection's thread; see
// KeyedTokenBuckets for buckets shared between threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace parley {

class TokenBucket {
 public:
  // The longest wait Take reports (about 11.6 days): keeps tiny rates from overflowing.
  static constexpr int64_t kMaxWaitUs = 1'000'000'000'000;

  // rate_per_s <= 0 means "no limit": Take always allows. A burst below 1 is raised to 1,
  // or no request could ever pass. The bucket starts full.
  TokenBucket(double rate_per_s, double burst)
      : rate_per_us_(rate_per_s > 0 ? rate_per_s / 1e6 : 0),
        burst_(std::max(burst, 1.0)),
        tokens_(burst_) {}

  // 0 if allowed (the tokens are taken), else the microseconds until it would be allowed
  // (nothing is taken, so a refused request costs nothing). A cost above the burst is
  // charged as the whole burst: such a request passes once the bucket is full instead of
  // never. Time moving backwards is treated as no time passing.
  int64_t Take(int64_t now_us, double cost = 1) {
    if (rate_per_us_ <= 0) return 0;
    Refill(now_us);
    cost = std::min(cost, burst_);
    if (tokens_ >= cost) {
      tokens_ -= cost;
      return 0;
    }
    double wait = std::ceil((cost - tokens_) / rate_per_us_);
    return static_cast<int64_t>(std::clamp(wait, 1.0, static_cast<double>(kMaxWaitUs)));
  }

  // What Borrow decided. admitted: the tokens were taken, and `wait_us` is how long the
  // bucket stays in debt (0: it is not) — how long the caller should hold its next request.
  // Refused: nothing was taken, and `wait_us` is the time until `cost` tokens are there.
  struct Borrowed {
    bool admitted = true;
    int64_t wait_us = 0;
  };

  // For flow control rather than refusal: takes `cost` tokens even when fewer are left,
  // putting the bucket in debt that the refill pays back first, unless paying it back would
  // take longer than `max_debt_us` (then refused, nothing taken). A caller that holds its
  // next request for `wait_us` keeps the long-run rate; a debt of one request per caller is
  // the most that pausing callers can build up. A cost above the burst counts as the burst.
  Borrowed Borrow(int64_t now_us, double cost, int64_t max_debt_us) {
    if (rate_per_us_ <= 0) return {};
    Refill(now_us);
    double after = tokens_ - std::min(cost, burst_);
    if (after >= 0) {
      tokens_ = after;
      return {};
    }
    double debt =
        std::clamp(std::ceil(-after / rate_per_us_), 1.0, static_cast<double>(kMaxWaitUs));
    auto wait = static_cast<int64_t>(debt);
    if (wait > max_debt_us) return {false, wait};
    tokens_ = after;
    return {true, wait};
  }

  // True once the bucket has refilled completely: an idle bucket that can be forgotten
  // (a new one starts full, so forgetting it changes nothing).
  bool Full(int64_t now_us) const { return rate_per_us_ <= 0 || TokensAt(now_us) >= burst_; }

 private:
  double TokensAt(int64_t now_us) const {
    if (now_us <= last_us_) return tokens_;
    return std::min(burst_, tokens_ + static_cast<double>(now_us - last_us_) * rate_per_us_);
  }
  void Refill(int64_t now_us) {
    tokens_ = TokensAt(now_us);
    last_us_ = std::max(last_us_, now_us);
  }

  double rate_per_us_;
  double burst_;
  double tokens_;
  // The bucket starts full, so the first call's refill is capped at the burst whatever
  // this says; INT64_MIN would overflow the subtraction, 0 does not.
  int64_t last_us_ = 0;
};

}  // namespace parley
