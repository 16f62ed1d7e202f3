#include "limits/address_limits.h"

namespace parley {

AddressLimits::Admission AddressLimits::TryOpen(const std::string& key, int64_t now_us) {
  if (max_open_ == 0 && rate_ <= 0) return {};
  std::lock_guard<std::mutex> lock(mu_);
  if (++opens_ % kSweepEvery == 0) SweepLocked(now_us);
  Entry& e = entries_.try_emplace(key, rate_, burst_).first->second;
  if (max_open_ != 0 && e.open >= max_open_) return {Verdict::kTooManyOpen, 0};
  if (int64_t wait = e.bucket.Take(now_us); wait > 0) return {Verdict::kTooFast, wait};
  ++e.open;
  return {};
}

void AddressLimits::Closed(const std::string& key) {
  if (max_open_ == 0 && rate_ <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.open > 0) --it->second.open;
  // Entries with a bucket still refilling stay until a sweep finds them full.
}

size_t AddressLimits::open(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.open;
}

size_t AddressLimits::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void AddressLimits::SweepLocked(int64_t now_us) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.open == 0 && it->second.bucket.Full(now_us)) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace parley
