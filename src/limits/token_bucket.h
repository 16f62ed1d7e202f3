// TokenBucket: the classic rate limiter — `rate` tokens per second refill a bucket of
// `burst` tokens; a request takes one (or `cost`) or is told how long to wait.
//
// Thread-safety: none; one bucket per connection, used on that connection's thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace parley {

class TokenBucket {
 public:
  // rate <= 0 means no limit.
  TokenBucket(double rate_per_s, double burst)
      : rate_per_us_(rate_per_s / 1e6), burst_(std::max(burst, 1.0)), tokens_(burst_) {}

  // 0 if allowed (the tokens are taken), else the microseconds until it would be allowed
  // (nothing is taken).
  int64_t Take(int64_t now_us, double cost = 1) {
    if (rate_per_us_ <= 0) return 0;
    Refill(now_us);
    if (tokens_ >= cost) {
      tokens_ -= cost;
      return 0;
    }
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((cost - tokens_) / rate_per_us_)));
  }

  // True once the bucket has refilled completely (an idle bucket can be forgotten).
  bool Full(int64_t now_us) {
    Refill(now_us);
    return tokens_ >= burst_;
  }

 private:
  void Refill(int64_t now_us) {
    if (last_us_ != 0 && now_us > last_us_) {
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_us - last_us_) * rate_per_us_);
    }
    if (now_us > last_us_) last_us_ = now_us;
  }

  double rate_per_us_;
  double burst_;
  double tokens_;
  int64_t last_us_ = 0;
};

}  // namespace parley
