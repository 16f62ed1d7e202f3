// KeyedTokenBuckets: one TokenBucket per key (per user), shared by that user's
// connections on different network threads. Sharded by key so threads rarely meet on one
// mutex; full (idle) buckets are forgotten so memory follows the active keys only.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "limits/token_bucket.h"

namespace parley {

class KeyedTokenBuckets {
 public:
  // As TokenBucket: rate_per_s <= 0 means no limit (and no bucket is ever kept).
  KeyedTokenBuckets(double rate_per_s, double burst) : rate_(rate_per_s), burst_(burst) {}

  // As TokenBucket::Take, for the bucket of `key` (created full on first use). Every
  // kSweepEvery takes on a shard sweep that shard, so memory stays bounded without a
  // background thread; calling Sweep() periodically as well is optional.
  int64_t Take(uint64_t key, int64_t now_us, double cost = 1);

  // As TokenBucket::Borrow, for the bucket of `key`. A bucket in debt is not full, so it is
  // kept until the debt is paid back.
  TokenBucket::Borrowed Borrow(uint64_t key, int64_t now_us, double cost, int64_t max_debt_us);

  // Drops every bucket that has refilled completely by `now_us`.
  void Sweep(int64_t now_us);

  // Buckets currently kept.
  size_t size() const;

  static constexpr int kShardBits = 6;
  static constexpr size_t kShards = size_t{1} << kShardBits;
  static constexpr uint64_t kSweepEvery = 4096;

 private:
  // Aligned so two threads on neighbouring shards do not share a cache line.
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, TokenBucket> buckets;
    uint64_t takes = 0;
  };
  Shard& ShardOf(uint64_t key);
  static void SweepShard(Shard& shard, int64_t now_us);

  const double rate_;
  const double burst_;
  std::array<Shard, kShards> shards_;
};

}  // namespace parley
