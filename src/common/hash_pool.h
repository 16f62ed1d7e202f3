// HashPool: the threads that run password hashing (Argon2id: tens of milliseconds of CPU
// and 64 MiB each), apart from every other kind of blocking work and behind a bounded
// queue. Without the bound, a crowd of password guessers queues hashing work without
// limit, and every other request waits behind it for seconds; with it, a request that
// finds the queue full is refused at once ("busy, retry in N ms") while the rest of the
// server carries on.
//
// Every password operation (register, login, password change, admin-created users) goes
// through TrySubmit. The retry hint is the expected time to work off the queue, from a
// running average of job durations.
//
// Thread-safety: all methods are thread-safe. The destructor runs the queued jobs, then
// joins.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "common/worker_pool.h"

namespace parley {

class HashPool {
 public:
  // `threads` 0 is taken as 1. `max_queued`: jobs that may wait beyond the running ones.
  HashPool(size_t threads, size_t max_queued) : pool_(std::max<size_t>(threads, 1), max_queued) {}

  // Queues `job`; false if the queue is full, with *retry_after_ms set to a suggested wait
  // (at least 1 ms). `job` is dropped then.
  [[nodiscard]] bool TrySubmit(std::function<void()> job, int64_t* retry_after_ms) {
    auto timed = [this, job = std::move(job)] {
      const auto start = std::chrono::steady_clock::now();
      job();
      const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
      // Exponential average over about 16 jobs; a lost race between threads only loses one
      // sample.
      const int64_t avg = avg_job_us_.load(std::memory_order_relaxed);
      avg_job_us_.store(avg + (us - avg) / 16, std::memory_order_relaxed);
    };
    if (pool_.TrySubmit(std::move(timed))) return true;
    rejected_.fetch_add(1, std::memory_order_relaxed);
    const int64_t backlog_us = avg_job_us_.load(std::memory_order_relaxed) *
                               static_cast<int64_t>(pool_.queued() + pool_.threads()) /
                               static_cast<int64_t>(pool_.threads());
    *retry_after_ms = std::max<int64_t>(1, backlog_us / 1000);
    return false;
  }

  size_t queued() { return pool_.queued(); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  // Declared before pool_: the pool's destructor runs queued jobs that update them.
  std::atomic<int64_t> avg_job_us_{50'000};  // a first guess: one interactive Argon2id
  std::atomic<uint64_t> rejected_{0};
  WorkerPool pool_;
};

}  // namespace parley
