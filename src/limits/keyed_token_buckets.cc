// KeyedTokenBuckets: sharding, the per-shard lock, and sweeping of idle buckets.
#include "limits/keyed_token_buckets.h"

#include <iterator>

namespace parley {

KeyedTokenBuckets::Shard& KeyedTokenBuckets::ShardOf(uint64_t key) {
  // Fibonacci hashing: user ids are sequential or strided, and `key % 64` alone would put
  // every id with the same low bits on one shard. The top bits of the product mix them all.
  return shards_[(key * 0x9E3779B97F4A7C15ull) >> (64 - kShardBits)];
}

int64_t KeyedTokenBuckets::Take(uint64_t key, int64_t now_us, double cost) {
  if (rate_ <= 0) return 0;
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  int64_t wait = shard.buckets.try_emplace(key, rate_, burst_).first->second.Take(now_us, cost);
  if (++shard.takes % kSweepEvery == 0) SweepShard(shard, now_us);
  return wait;
}

TokenBucket::Borrowed KeyedTokenBuckets::Borrow(uint64_t key, int64_t now_us, double cost,
                                                int64_t max_debt_us) {
  if (rate_ <= 0) return {};
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  TokenBucket::Borrowed b =
      shard.buckets.try_emplace(key, rate_, burst_).first->second.Borrow(now_us, cost, max_debt_us);
  if (++shard.takes % kSweepEvery == 0) SweepShard(shard, now_us);
  return b;
}

void KeyedTokenBuckets::Sweep(int64_t now_us) {
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    SweepShard(shard, now_us);
  }
}

size_t KeyedTokenBuckets::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

void KeyedTokenBuckets::SweepShard(Shard& shard, int64_t now_us) {
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    it = it->second.Full(now_us) ? shard.buckets.erase(it) : std::next(it);
  }
}

}  // namespace parley
