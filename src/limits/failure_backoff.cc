#include "limits/failure_backoff.h"

#include <algorithm>

namespace parley {
namespace {
constexpr uint64_t kSweepEvery = 1024;
}  // namespace

int64_t FailureBackoff::Check(std::string_view key, int64_t now_us) {
  if (!enabled()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return 0;
  return std::max<int64_t>(0, it->second.locked_until_us - now_us);
}

int64_t FailureBackoff::Fail(std::string_view key, int64_t now_us) {
  if (!enabled()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (++calls_ % kSweepEvery == 0) Sweep(now_us, false);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (entries_.size() >= policy_.max_keys) Sweep(now_us, true);
    if (entries_.size() >= policy_.max_keys) return 0;
    it = entries_.emplace(std::string(key), Entry{}).first;
  }
  Entry& e = it->second;
  if (e.failures > 0 && now_us - e.last_failure_us > policy_.forget_after_us) e = Entry{};
  e.last_failure_us = now_us;
  if (++e.failures <= policy_.free_failures) return 0;
  // Doubling from initial_us; the shift is capped so it cannot overflow.
  const size_t doublings = std::min<size_t>(e.failures - policy_.free_failures - 1, 40);
  const double lockout =
      std::min(static_cast<double>(policy_.initial_us) * static_cast<double>(1ULL << doublings),
               static_cast<double>(policy_.max_us));
  e.locked_until_us = now_us + static_cast<int64_t>(lockout);
  return static_cast<int64_t>(lockout);
}

void FailureBackoff::Reset(std::string_view key) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(std::string(key));
}

size_t FailureBackoff::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void FailureBackoff::Sweep(int64_t now_us, bool expired_locks) {
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    if (now_us - e.last_failure_us > policy_.forget_after_us) return true;
    return expired_locks && e.locked_until_us <= now_us;
  });
}

}  // namespace parley
