// TokenCache: the devices behind recently used token digests, so that a token resume does
// not read the store each time. It matters on a shared store (PostgreSQL: a round trip on
// a network thread per resume); on RocksDB it saves a point read.
//
// Correctness rests on three rules:
// - Every local change to a user's devices (login's replace, logout, revocation, password
//   change, expiry) calls ForgetUser after it commits.
// - Another node's revocation arrives as a hint (Redis pub/sub, at most once): the node
//   calls ForgetUser, and Clear after each resubscribe (hints may have been lost).
// - An entry lives at most `ttl_ms`, which bounds how long a revocation whose hint was lost
//   can be missed (Redis down): a revoked token keeps working on another node for at most
//   that long. ttl_ms = 0 turns the cache off.
// A store read that started before a ForgetUser must not re-insert what it read: Put takes
// the epoch Begin returned and drops the entry if any ForgetUser/Clear ran since.
//
// Thread-safety: all methods are thread-safe (one mutex; the critical sections are a hash
// lookup or insert).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "model/records.h"

namespace parley {

class TokenCache {
 public:
  TokenCache(int64_t ttl_ms, size_t max_entries) : ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  bool enabled() const { return ttl_ms_ > 0 && max_entries_ > 0; }
  // The device of `digest` if cached within ttl_ms of `now_ms` (a steady clock).
  std::optional<DeviceRecord> Find(const std::string& digest, int64_t now_ms);
  // Call before the store read whose result goes to Put.
  uint64_t Begin() const;
  // Caches `device` unless a ForgetUser/Clear ran since `epoch`. When full, the cache
  // starts over (a resume storm then reads the store once per device).
  void Put(const DeviceRecord& device, uint64_t epoch, int64_t now_ms);
  // Records a newer last-seen time of a cached device (Touch committed).
  void Seen(const std::string& digest, int64_t last_seen_ms);
  void ForgetUser(UserId user);
  void Clear();
  size_t size() const;

 private:
  struct Entry {
    DeviceRecord device;
    int64_t cached_ms = 0;
  };
  const int64_t ttl_ms_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  uint64_t epoch_ = 0;  // bumped by ForgetUser and Clear
  std::unordered_map<std::string, Entry> by_digest_;
  std::unordered_multimap<UserId, std::string> digests_of_;
};

}  // namespace parley
