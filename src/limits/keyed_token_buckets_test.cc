// KeyedTokenBuckets tests: per-key independence, sweeping, and the shared limit holding
// when several threads take from one key (the per-user case).
#include "limits/keyed_token_buckets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace parley {
namespace {

constexpr int64_t kT0 = 1'000'000;

TEST(KeyedTokenBuckets, KeysAreIndependent) {
  KeyedTokenBuckets k(1, 1);
  EXPECT_EQ(k.Take(1, kT0), 0);
  EXPECT_EQ(k.Take(1, kT0), 1'000'000);
  EXPECT_EQ(k.Take(2, kT0), 0);
  EXPECT_EQ(k.size(), 2u);
}

TEST(KeyedTokenBuckets, BorrowSharesTheDebtOfAKeyAndSweepKeepsIt) {
  KeyedTokenBuckets k(10, 1);
  EXPECT_EQ(k.Borrow(7, kT0, 1, 1'000'000).wait_us, 0);
  EXPECT_EQ(k.Borrow(7, kT0, 1, 1'000'000).wait_us, 100'000);  // a second device
  EXPECT_EQ(k.Borrow(7, kT0, 1, 1'000'000).wait_us, 200'000);  // a third waits longer
  EXPECT_EQ(k.Borrow(8, kT0, 1, 1'000'000).wait_us, 0);        // another user
  k.Sweep(kT0 + 250'000);
  EXPECT_EQ(k.size(), 1u);  // key 7 is still in debt (full again at +300 ms)
  TokenBucket::Borrowed r = k.Borrow(7, kT0 + 250'000, 1, 20'000);
  EXPECT_FALSE(r.admitted);
  EXPECT_EQ(r.wait_us, 50'000);
}

TEST(KeyedTokenBuckets, SweepForgetsOnlyFullBuckets) {
  KeyedTokenBuckets k(10, 2);  // refills completely 200 ms after being emptied
  EXPECT_EQ(k.Take(1, kT0, 2), 0);
  EXPECT_EQ(k.Take(2, kT0 + 150'000), 0);  // one token used; full again at +250 ms
  k.Sweep(kT0 + 100'000);
  EXPECT_EQ(k.size(), 2u);  // both still refilling
  k.Sweep(kT0 + 200'000);
  EXPECT_EQ(k.size(), 1u);  // key 1 is full again
  k.Sweep(kT0 + 250'000);
  EXPECT_EQ(k.size(), 0u);
  // A forgotten key starts over with a full bucket, exactly as if it had been kept.
  EXPECT_EQ(k.Take(1, kT0 + 250'000, 2), 0);
  EXPECT_GT(k.Take(1, kT0 + 250'000), 0);
}

TEST(KeyedTokenBuckets, TakesSweepIdleBucketsWithoutHelp) {
  KeyedTokenBuckets k(1000, 1);  // a used bucket is full again 1 ms later
  // One-off keys 1 us apart, no Sweep() calls: enough takes for every shard to sweep
  // itself a few times.
  constexpr uint64_t kKeys = 4 * KeyedTokenBuckets::kShards * KeyedTokenBuckets::kSweepEvery;
  for (uint64_t key = 0; key < kKeys; ++key) k.Take(key, kT0 + static_cast<int64_t>(key));
  // Each shard keeps at most the keys taken since its last sweep (about kSweepEvery) plus
  // the ones still refilling then.
  EXPECT_LT(k.size(), 2 * KeyedTokenBuckets::kShards * KeyedTokenBuckets::kSweepEvery);
  k.Sweep(kT0 + kKeys + 1000);
  EXPECT_EQ(k.size(), 0u);
}

TEST(KeyedTokenBuckets, ZeroRateKeepsNoBuckets) {
  KeyedTokenBuckets k(0, 1);
  for (uint64_t key = 0; key < 100; ++key) EXPECT_EQ(k.Take(key, kT0), 0);
  EXPECT_EQ(k.size(), 0u);
}

TEST(KeyedTokenBuckets, ConcurrentTakesAtOneInstantGetExactlyTheBurst) {
  KeyedTokenBuckets k(1, 100);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        if (k.Take(7, kT0) == 0) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 100);
}

TEST(KeyedTokenBuckets, ConcurrentTakesNeverExceedBurstPlusRateTimesElapsed) {
  constexpr double kRate = 1000, kBurst = 50;  // per second
  KeyedTokenBuckets k(kRate, kBurst);
  // A shared fake clock that every call advances by 10 us: 4 threads asking ~100k/s
  // between them, far above the 1000/s allowed.
  std::atomic<int64_t> clock{kT0};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50'000; ++j) {
        if (k.Take(42, clock.fetch_add(10)) == 0) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed_s = static_cast<double>(clock.load() - kT0) / 1e6;  // 2 s
  const double ceiling = kBurst + kRate * elapsed_s;
  EXPECT_LE(granted.load(), ceiling);
  // Threads may present slightly out-of-order times (the bucket ignores backwards steps),
  // so a little less than the ceiling is fine; much less would mean lost refills.
  EXPECT_GE(granted.load(), 0.95 * ceiling);
}

}  // namespace
}  // namespace parley
