// TokenBucket tests, with the clock injected as plain microsecond values.
#include "limits/token_bucket.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

constexpr int64_t kT0 = 1'000'000;  // an arbitrary start time, in microseconds

TEST(TokenBucket, StartsFullAndAllowsTheBurst) {
  TokenBucket b(10, 3);  // 10/s, burst 3
  EXPECT_EQ(b.Take(kT0), 0);
  EXPECT_EQ(b.Take(kT0), 0);
  EXPECT_EQ(b.Take(kT0), 0);
  EXPECT_EQ(b.Take(kT0), 100'000);  // empty: one token takes 100 ms at 10/s
}

TEST(TokenBucket, RetryAfterIsExactAndRefusalsTakeNothing) {
  TokenBucket b(10, 1);
  EXPECT_EQ(b.Take(kT0), 0);
  EXPECT_EQ(b.Take(kT0 + 30'000), 70'000);  // 0.3 tokens there, 0.7 to go
  EXPECT_EQ(b.Take(kT0 + 30'000), 70'000);  // asking again did not cost anything
  EXPECT_EQ(b.Take(kT0 + 99'999), 1);
  EXPECT_EQ(b.Take(kT0 + 100'000), 0);  // exactly when promised
}

TEST(TokenBucket, RefillsAtTheRateAndNeverAboveTheBurst) {
  TokenBucket b(1000, 5);  // one token per ms
  for (int i = 0; i < 5; ++i) ASSERT_EQ(b.Take(kT0), 0);
  EXPECT_GT(b.Take(kT0), 0);
  EXPECT_EQ(b.Take(kT0 + 2'000), 0);  // two tokens refilled
  EXPECT_EQ(b.Take(kT0 + 2'000), 0);
  EXPECT_GT(b.Take(kT0 + 2'000), 0);
  EXPECT_FALSE(b.Full(kT0 + 2'000));
  // A long idle period refills only up to the burst.
  EXPECT_TRUE(b.Full(kT0 + 60'000'000));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(b.Take(kT0 + 60'000'000), 0);
  EXPECT_GT(b.Take(kT0 + 60'000'000), 0);
}

TEST(TokenBucket, CostsMoreThanOne) {
  TokenBucket b(10, 10);
  EXPECT_EQ(b.Take(kT0, 4), 0);
  EXPECT_EQ(b.Take(kT0, 4), 0);
  EXPECT_EQ(b.Take(kT0, 4), 200'000);  // 2 left, 2 more at 10/s
  EXPECT_EQ(b.Take(kT0, 2), 0);
}

TEST(TokenBucket, CostAboveTheBurstWaitsForAFullBucket) {
  TokenBucket b(10, 2);
  EXPECT_EQ(b.Take(kT0, 1), 0);
  EXPECT_EQ(b.Take(kT0, 50), 100'000);  // charged as 2, so it waits for the second token
  EXPECT_EQ(b.Take(kT0 + 100'000, 50), 0);
  EXPECT_GT(b.Take(kT0 + 100'000), 0);
}

TEST(TokenBucket, BorrowGoesIntoDebtAndSaysHowLongItLasts) {
  TokenBucket b(10, 2);  // 10/s: 100 ms a token
  EXPECT_TRUE(b.Borrow(kT0, 1, 1'000'000).admitted);
  EXPECT_EQ(b.Borrow(kT0, 1, 1'000'000).wait_us, 0);  // the burst: no debt
  TokenBucket::Borrowed third = b.Borrow(kT0, 1, 1'000'000);
  EXPECT_TRUE(third.admitted);
  EXPECT_EQ(third.wait_us, 100'000);  // one token owed
  // The debt is paid before anything else passes, by Borrow or Take alike.
  EXPECT_EQ(b.Take(kT0 + 100'000), 100'000);
  TokenBucket::Borrowed later = b.Borrow(kT0 + 100'000, 1, 1'000'000);
  EXPECT_TRUE(later.admitted);
  EXPECT_EQ(later.wait_us, 100'000);
}

TEST(TokenBucket, BorrowRefusesBeyondTheLongestDebtAndTakesNothing) {
  TokenBucket b(10, 1);
  EXPECT_TRUE(b.Borrow(kT0, 1, 250'000).admitted);
  EXPECT_TRUE(b.Borrow(kT0, 1, 250'000).admitted);  // 100 ms of debt
  EXPECT_TRUE(b.Borrow(kT0, 1, 250'000).admitted);  // 200 ms
  TokenBucket::Borrowed refused = b.Borrow(kT0, 1, 250'000);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.wait_us, 300'000);  // the real wait, well above one token's 100 ms
  EXPECT_FALSE(b.Borrow(kT0, 1, 250'000).admitted);
  // The refusals took nothing: 50 ms later 150 ms of debt are left, plus one = 250 ms.
  TokenBucket::Borrowed after = b.Borrow(kT0 + 50'000, 1, 250'000);
  EXPECT_TRUE(after.admitted);
  EXPECT_EQ(after.wait_us, 250'000);
}

TEST(TokenBucket, BorrowKeepsTheLongRunRateForAPausingCaller) {
  TokenBucket b(100, 10);
  int64_t now = kT0;
  int admitted = 0;
  // A caller that waits as told: 10 at once, then one every 10 ms.
  while (now < kT0 + 1'000'000) {
    TokenBucket::Borrowed r = b.Borrow(now, 1, 50'000);
    ASSERT_TRUE(r.admitted);
    ++admitted;
    now += r.wait_us;
  }
  EXPECT_GE(admitted, 105);
  EXPECT_LE(admitted, 111);
}

TEST(TokenBucket, ZeroOrNegativeRateIsUnlimited) {
  TokenBucket zero(0, 1), negative(-5, 1);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(zero.Take(kT0, 100), 0);
    ASSERT_EQ(negative.Take(kT0), 0);
  }
  EXPECT_TRUE(zero.Full(kT0));
}

TEST(TokenBucket, BurstBelowOneIsRaisedToOne) {
  TokenBucket b(10, 0);
  EXPECT_EQ(b.Take(kT0), 0);
  EXPECT_EQ(b.Take(kT0), 100'000);
}

TEST(TokenBucket, ClockGoingBackwardsGivesNothing) {
  TokenBucket b(10, 1);
  EXPECT_EQ(b.Take(kT0), 0);
  EXPECT_GT(b.Take(kT0 - 500'000), 0);
  EXPECT_EQ(b.Take(kT0 + 99'999), 1);  // measured from the latest time seen
  EXPECT_EQ(b.Take(kT0 + 100'000), 0);
}

TEST(TokenBucket, WorksFromTimeZero) {
  TokenBucket b(1000, 1);
  EXPECT_EQ(b.Take(0), 0);
  EXPECT_EQ(b.Take(500), 500);
  EXPECT_EQ(b.Take(1000), 0);
}

TEST(TokenBucket, TinyRatesReportABoundedWait) {
  TokenBucket b(1e-12, 1);
  EXPECT_EQ(b.Take(kT0), 0);
  EXPECT_EQ(b.Take(kT0), TokenBucket::kMaxWaitUs);
}

}  // namespace
}  // namespace parley
