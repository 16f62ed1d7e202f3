// PeriodicProbe: calls a function every `interval` on its own thread until stopped — the
// node's check of its store in cluster mode, so that /readyz and the circuit breaker
// notice an unreachable PostgreSQL (and its return) even when no request arrives.
//
// Thread-safety: construct and destroy on one thread; the function runs on the probe's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace parley {

class PeriodicProbe {
 public:
  PeriodicProbe(std::chrono::milliseconds interval, std::function<void()> probe)
      : interval_(interval), probe_(std::move(probe)), thread_([this] { Run(); }) {}
  ~PeriodicProbe() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  PeriodicProbe(const PeriodicProbe&) = delete;
  PeriodicProbe& operator=(const PeriodicProbe&) = delete;

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [&] { return stop_; })) {
      lock.unlock();
      probe_();
      lock.lock();
    }
  }

  const std::chrono::milliseconds interval_;
  const std::function<void()> probe_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace parley
