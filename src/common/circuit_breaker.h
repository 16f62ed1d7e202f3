// CircuitBreaker: stop calling a dependency that keeps failing, and try it again later.
//
// Closed: calls go through; `failures_to_open` failures in a row open it. Open: calls fail
// at once (Allow() is false and says how long to wait) for `open_for`, doubled after each
// failed probe up to `max_open_for`. Then half-open: one call goes through as a probe; its
// success closes the breaker, its failure opens it again. Only failures of availability
// count (a refused connection, a lost one); the caller decides what those are.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace parley {

class CircuitBreaker {
 public:
  enum class State : int { kClosed = 0, kOpen = 1, kHalfOpen = 2 };
  struct Options {
    int failures_to_open = 2;
    std::chrono::milliseconds open_for{500};
    std::chrono::milliseconds max_open_for{4000};
  };
  using Clock = std::chrono::steady_clock;

  CircuitBreaker() : CircuitBreaker(Options{}) {}
  explicit CircuitBreaker(const Options& options) : options_(options) {}

  // Whether a call may go ahead now. When not, *retry_after_ms (if given) is the time until
  // the next probe may run.
  bool Allow(int64_t* retry_after_ms = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    if (state_ == State::kOpen && now >= reopen_at_) {
      state_ = State::kHalfOpen;
      probing_ = false;
    }
    if (state_ == State::kClosed) return true;
    if (state_ == State::kHalfOpen && !probing_) {
      probing_ = true;
      return true;
    }
    if (retry_after_ms != nullptr) {
      const auto wait = state_ == State::kOpen ? reopen_at_ - now : options_.open_for;
      *retry_after_ms =
          std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    }
    return false;
  }

  void Success() {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = State::kClosed;
    failures_ = 0;
    probing_ = false;
    open_for_ = options_.open_for;
  }

  void Failure() {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kHalfOpen) {
      open_for_ = std::min(open_for_ * 2, options_.max_open_for);
      Open();
      return;
    }
    if (state_ == State::kClosed && ++failures_ >= options_.failures_to_open) Open();
  }

  State state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  uint64_t times_opened() const {
    std::lock_guard<std::mutex> lock(mu_);
    return times_opened_;
  }

 private:
  void Open() {
    state_ = State::kOpen;
    probing_ = false;
    reopen_at_ = Clock::now() + open_for_;
    ++times_opened_;
  }

  const Options options_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int failures_ = 0;
  bool probing_ = false;
  std::chrono::milliseconds open_for_ = options_.open_for;
  Clock::time_point reopen_at_{};
  uint64_t times_opened_ = 0;
};

}  // namespace parley
