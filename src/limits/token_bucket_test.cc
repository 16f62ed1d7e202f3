#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "limits/keyed_token_buckets.h"
#include "limits/token_bucket.h"

namespace parley {
namespace {

TEST(TokenBucket, BurstThenRefill) {
  TokenBucket b(10, 3);  // 10/s, burst 3
  int64_t t = 1'000'000;
  EXPECT_EQ(b.Take(t), 0);
  EXPECT_EQ(b.Take(t), 0);
  EXPECT_EQ(b.Take(t), 0);
  int64_t wait = b.Take(t);
  EXPECT_GT(wait, 99'000);  // one token takes 100 ms
  EXPECT_LE(wait, 100'000);
  EXPECT_GT(b.Take(t + 50'000), 0);  // refused requests take nothing
  EXPECT_EQ(b.Take(t + 100'000), 0);
  EXPECT_FALSE(b.Full(t + 100'000));
  EXPECT_TRUE(b.Full(t + 10'000'000));  // never above the burst
  EXPECT_EQ(b.Take(t + 10'000'000, 3), 0);
  EXPECT_GT(b.Take(t + 10'000'000), 0);
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  TokenBucket b(0, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(b.Take(1), 0);
}

TEST(KeyedTokenBuckets, KeysAreIndependentAndSweepForgetsIdleOnes) {
  KeyedTokenBuckets k(1, 1);
  EXPECT_EQ(k.Take(1, 1'000'000), 0);
  EXPECT_GT(k.Take(1, 1'000'000), 0);
  EXPECT_EQ(k.Take(2, 1'000'000), 0);
  EXPECT_EQ(k.size(), 2u);
  k.Sweep(1'100'000);
  EXPECT_EQ(k.size(), 2u);  // both still refilling
  k.Sweep(5'000'000);
  EXPECT_EQ(k.size(), 0u);
}

TEST(KeyedTokenBuckets, ConcurrentTakesNeverExceedTheBurst) {
  KeyedTokenBuckets k(1, 100);  // at a fixed instant only the burst is available
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        if (k.Take(7, 1'000'000) == 0) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 100);
}

}  // namespace
}  // namespace parley
