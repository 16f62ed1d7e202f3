// WorkerPool: a fixed set of threads running queued jobs, for blocking work that must stay
// off network and sequencer threads (password hashing, conversation changes that wait for
// their commit).
//
// A pool may bound its queue (`max_queued`): TrySubmit then refuses work beyond it, so a
// flood of expensive requests (password guesses) is answered "busy" at once instead of
// waiting behind each other for seconds. Submit ignores the bound (internal work that must
// not be dropped).
//
// Thread-safety: Submit and TrySubmit are thread-safe. The destructor runs every queued
// job, then joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace parley {

class WorkerPool {
 public:
  // `max_queued`: jobs that may wait (beyond those running) before TrySubmit refuses.
  explicit WorkerPool(size_t threads, size_t max_queued = SIZE_MAX) : max_queued_(max_queued) {
    if (threads == 0) threads = 1;
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  // Queues `job` unless max_queued jobs are already waiting; false (and `job` dropped)
  // if the queue is full.
  [[nodiscard]] bool TrySubmit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (jobs_.size() >= max_queued_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

  size_t threads() const { return threads_.size(); }

  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return jobs_.size();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and everything queued has run
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace parley
