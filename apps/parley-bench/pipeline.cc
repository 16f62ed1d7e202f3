#include "pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace parley::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Shared with the jobs' end callbacks, which may outlive RunPipelined (after a deadline).
struct PipelineState {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  PipelineOutcome outcome;
  std::vector<int> attempts;                                // per job
  std::vector<std::pair<Clock::time_point, int>> retry_at;  // (not before, job)
};

}  // namespace

PipelineOutcome RunPipelined(int count, int window, Clock::time_point deadline,
                             const JobStart& start, int max_retries_per_job) {
  auto state = std::make_shared<PipelineState>();
  state->attempts.assign(count, 0);
  auto end_of = [state, max_retries_per_job](int job) {
    return [state, job, max_retries_per_job](JobEnd e) {
      std::lock_guard<std::mutex> lock(state->mu);
      --state->in_flight;
      if (e.kind == JobEnd::kDone) {
        ++state->outcome.done;
      } else if (e.kind == JobEnd::kRetry && ++state->attempts[job] <= max_retries_per_job) {
        ++state->outcome.retries;
        state->retry_at.emplace_back(
            Clock::now() + std::chrono::milliseconds(std::max<int64_t>(e.retry_after_ms, 1)), job);
      } else {
        ++state->outcome.failed;
      }
      state->cv.notify_one();
    };
  };

  int next = 0;
  std::unique_lock<std::mutex> lock(state->mu);
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    if (next >= count && state->in_flight == 0 && state->retry_at.empty()) break;
    int job = -1;
    auto earliest = deadline;
    if (state->in_flight < window) {
      auto due = std::min_element(state->retry_at.begin(), state->retry_at.end());
      if (due != state->retry_at.end() && due->first <= now) {
        job = due->second;
        state->retry_at.erase(due);
      } else if (next < count) {
        job = next++;
      } else if (due != state->retry_at.end()) {
        earliest = std::min(earliest, due->first);
      }
    }
    if (job >= 0) {
      ++state->in_flight;
      lock.unlock();
      start(job, end_of(job));
      lock.lock();
      continue;
    }
    state->cv.wait_until(lock, earliest);
  }
  PipelineOutcome out = state->outcome;
  out.unfinished = count - out.done - out.failed;
  return out;
}

}  // namespace parley::bench
