// RunPipelined: many asynchronous jobs (connect, log in, sync…) kept at most `window` in
// flight, so that set-up of thousands of users is fast without overrunning the server's
// bounded queues (its password-hashing queue refuses beyond 64) or the accept backlog. A
// job that asks for a retry (the server said `unavailable` or `rate_limited`, or the
// connection failed) is started again after its delay, up to a bounded number of times.
// Everything ends by `deadline`.
//
// Thread-safety: RunPipelined blocks its caller; jobs end from any thread. A job that ends
// after the deadline (RunPipelined has returned) is ignored safely.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace parley::bench {

struct JobEnd {
  enum Kind { kDone, kFailed, kRetry } kind = kDone;
  int64_t retry_after_ms = 0;  // kRetry: wait at least this long
};

// Starts job `job` (0..count-1; the same job again on a retry); `end` must be called
// exactly once, on any thread, possibly before start returns.
using JobStart = std::function<void(int job, std::function<void(JobEnd)> end)>;

struct PipelineOutcome {
  int done = 0, failed = 0;
  int retries = 0;     // restarts, over all jobs
  int unfinished = 0;  // still running (or never started) at the deadline
};

PipelineOutcome RunPipelined(int count, int window, std::chrono::steady_clock::time_point deadline,
                             const JobStart& start, int max_retries_per_job = 20);

}  // namespace parley::bench
