// Bounded waits for tests: polling until a condition holds or a deadline passes, waiting
// past a time window, collecting asynchronous results, and one-shot signals. Nothing here
// sleeps for a fixed time and hopes; every wait has a limit and says when it ran out.
//
// Thread-safety: Results and Signal may be completed from any thread; WaitUntil and
// WaitPast run on the calling thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "service/await.h"

namespace parley::test {

// Calls `done` every `poll` until it returns true (then true) or `timeout` has passed
// (then false, after one last call).
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(2));

// Waits until more than `window_ms` has passed since `since_ms` (NowMillis() time), for
// tests of time windows (recall, edit); fails the test if the clock does not get there
// within 10 s.
void WaitPast(int64_t since_ms, int64_t window_ms);

// Concatenates the arguments' stream output ("c", 12 -> "c12"): test descriptions and
// trace labels built from mixed values in one expression.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// Collects the results of asynchronous calls: Slot(i) is the callback for call i. Call
// Wait() before the collector goes away; it aborts the test binary on timeout, since late
// callbacks would write into freed memory.
template <typename T>
class Results {
 public:
  explicit Results(size_t n) : results_(n) {}

  Callback<T> Slot(size_t i) {
    return [this, i](Result<T> r) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[i].emplace(std::move(r));
      ++done_;
      cv_.notify_all();
    };
  }
  // Waits until every slot has its result.
  void Wait(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return done_ == results_.size(); })) {
      std::fprintf(stderr, "asynchronous calls did not complete\n");
      std::abort();
    }
  }
  size_t done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  const Result<T>& operator[](size_t i) const { return *results_[i]; }
  size_t size() const { return results_.size(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<Result<T>>> results_;
  size_t done_ = 0;
};

// A one-shot signal between threads, with bounded waits.
class Signal {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

}  // namespace parley::test
