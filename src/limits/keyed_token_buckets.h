// KeyedTokenBuckets: one TokenBucket per key (per user), shared by that user's
// connections on different threads. Sharded by key so threads rarely meet on one mutex;
// Sweep() forgets full (idle) buckets so memory follows the active users only.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <unordered_map>

#include "limits/token_bucket.h"

namespace parley {

class KeyedTokenBuckets {
 public:
  KeyedTokenBuckets(double rate_per_s, double burst) : rate_(rate_per_s), burst_(burst) {}

  // As TokenBucket::Take, for the bucket of `key`.
  int64_t Take(uint64_t key, int64_t now_us, double cost = 1) {
    if (rate_ <= 0) return 0;
    Shard& shard = shards_[key % shards_.size()];
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.buckets.try_emplace(key, rate_, burst_).first;
    int64_t wait = it->second.Take(now_us, cost);
    // Occasional sweeping keeps each shard bounded without a background thread.
    if (++shard.takes % kSweepEvery == 0) SweepShard(shard, now_us);
    return wait;
  }

  void Sweep(int64_t now_us) {
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      SweepShard(shard, now_us);
    }
  }

  size_t size() {
    size_t n = 0;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      n += shard.buckets.size();
    }
    return n;
  }

 private:
  static constexpr uint64_t kSweepEvery = 4096;
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, TokenBucket> buckets;
    uint64_t takes = 0;
  };
  static void SweepShard(Shard& shard, int64_t now_us) {
    for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
      it = it->second.Full(now_us) ? shard.buckets.erase(it) : std::next(it);
    }
  }

  double rate_;
  double burst_;
  std::array<Shard, 64> shards_;
};

}  // namespace parley
