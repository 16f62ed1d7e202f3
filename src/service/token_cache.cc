#include "service/token_cache.h"

namespace parley {

std::optional<DeviceRecord> TokenCache::Find(const std::string& digest, int64_t now_ms) {
  if (!enabled()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_digest_.find(digest);
  if (it == by_digest_.end()) return std::nullopt;
  if (now_ms - it->second.cached_ms >= ttl_ms_) return std::nullopt;  // Put replaces it
  return it->second.device;
}

uint64_t TokenCache::Begin() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

void TokenCache::Put(const DeviceRecord& device, uint64_t epoch, int64_t now_ms) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) return;  // a revocation may have committed after the read
  if (by_digest_.size() >= max_entries_) {
    by_digest_.clear();
    digests_of_.clear();
  }
  auto [it, inserted] = by_digest_.try_emplace(device.token_digest);
  it->second = Entry{device, now_ms};
  if (inserted) digests_of_.emplace(device.user_id, device.token_digest);
}

void TokenCache::Seen(const std::string& digest, int64_t last_seen_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_digest_.find(digest);
  if (it != by_digest_.end() && it->second.device.last_seen_ms < last_seen_ms) {
    it->second.device.last_seen_ms = last_seen_ms;
  }
}

void TokenCache::ForgetUser(UserId user) {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  auto [begin, end] = digests_of_.equal_range(user);
  for (auto it = begin; it != end; ++it) by_digest_.erase(it->second);
  digests_of_.erase(begin, end);
}

void TokenCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  by_digest_.clear();
  digests_of_.clear();
}

size_t TokenCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_digest_.size();
}

}  // namespace parley
