// LogThrottle: lets at most `per_window` log lines through per window and counts the rest,
// so a flood of failed logins cannot flood the log (or the disk under it). The next line
// let through reports how many were suppressed.
//
// Thread-safety: Allow() is thread-safe.
#pragma once

#include <cstdint>
#include <mutex>

namespace parley {

class LogThrottle {
 public:
  LogThrottle(uint64_t per_window, int64_t window_us)
      : per_window_(per_window), window_us_(window_us) {}

  // True if a line may be written now; *suppressed gets the lines dropped since the last
  // one let through (reset to 0 by this call).
  bool Allow(int64_t now_us, uint64_t* suppressed) {
    std::lock_guard<std::mutex> lock(mu_);
    if (now_us - window_start_us_ >= window_us_) {
      window_start_us_ = now_us;
      in_window_ = 0;
    }
    if (in_window_ >= per_window_) {
      ++suppressed_;
      return false;
    }
    ++in_window_;
    *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  const uint64_t per_window_;
  const int64_t window_us_;
  std::mutex mu_;
  int64_t window_start_us_ = INT64_MIN / 2;  // guarded by mu_
  uint64_t in_window_ = 0;                   // guarded by mu_
  uint64_t suppressed_ = 0;                  // guarded by mu_
};

}  // namespace parley
