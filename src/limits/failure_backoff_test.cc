#include "limits/failure_backoff.h"

#include <gtest/gtest.h>

#include "limits/log_throttle.h"

namespace parley {
namespace {

constexpr int64_t kSec = 1'000'000;

BackoffPolicy Policy() {
  BackoffPolicy p;
  p.free_failures = 3;
  p.initial_us = 1 * kSec;
  p.max_us = 8 * kSec;
  p.forget_after_us = 60 * kSec;
  p.max_keys = 4;
  return p;
}

TEST(FailureBackoff, FreeFailuresThenDoublingUpToTheCap) {
  FailureBackoff b(Policy());
  int64_t t = 100 * kSec;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.Fail("alice", t), 0);
  EXPECT_EQ(b.Check("alice", t), 0);
  EXPECT_EQ(b.Fail("alice", t), 1 * kSec);
  EXPECT_EQ(b.Check("alice", t), 1 * kSec);
  EXPECT_EQ(b.Check("alice", t + kSec / 2), kSec / 2);
  EXPECT_EQ(b.Check("alice", t + kSec), 0);
  EXPECT_EQ(b.Fail("alice", t + kSec), 2 * kSec);
  EXPECT_EQ(b.Fail("alice", t + 3 * kSec), 4 * kSec);
  EXPECT_EQ(b.Fail("alice", t + 7 * kSec), 8 * kSec);
  EXPECT_EQ(b.Fail("alice", t + 15 * kSec), 8 * kSec);  // capped
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.Fail("alice", t + 15 * kSec), 8 * kSec);
  EXPECT_EQ(b.Check("bob", t), 0);  // keys are independent
}

TEST(FailureBackoff, SuccessResetsAndSilenceForgets) {
  FailureBackoff b(Policy());
  for (int i = 0; i < 4; ++i) b.Fail("alice", 0);
  EXPECT_GT(b.Check("alice", 0), 0);
  b.Reset("alice");
  EXPECT_EQ(b.Check("alice", 0), 0);
  EXPECT_EQ(b.Fail("alice", 0), 0);
  for (int i = 0; i < 3; ++i) b.Fail("bob", 0);
  // A minute without failures: bob starts again with free failures.
  EXPECT_EQ(b.Fail("bob", 61 * kSec), 0);
}

TEST(FailureBackoff, MemoryIsBoundedAndLockedKeysAreKept) {
  FailureBackoff b(Policy());
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < 4; ++i) b.Fail("k" + std::to_string(k), 0);
  }
  EXPECT_EQ(b.size(), 4u);
  // Full of locked keys: a new key is not tracked, the locked ones stay locked.
  EXPECT_EQ(b.Fail("new", 0), 0);
  EXPECT_EQ(b.size(), 4u);
  EXPECT_GT(b.Check("k0", 0), 0);
  // Once their lockouts passed, they make room.
  for (int i = 0; i < 4; ++i) b.Fail("new", 2 * kSec);
  EXPECT_GT(b.Check("new", 2 * kSec), 0);
  EXPECT_LE(b.size(), 4u);
}

TEST(FailureBackoff, ZeroFreeFailuresTurnsItOff) {
  BackoffPolicy p = Policy();
  p.free_failures = 0;
  FailureBackoff b(p);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.Fail("alice", 0), 0);
  EXPECT_EQ(b.Check("alice", 0), 0);
  EXPECT_EQ(b.size(), 0u);
}

TEST(LogThrottle, LetsAFewLinesThroughAndCountsTheRest) {
  LogThrottle t(2, kSec);
  uint64_t suppressed = 99;
  EXPECT_TRUE(t.Allow(0, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(t.Allow(1, &suppressed));
  EXPECT_FALSE(t.Allow(2, &suppressed));
  EXPECT_FALSE(t.Allow(3, &suppressed));
  EXPECT_TRUE(t.Allow(kSec + 5, &suppressed));
  EXPECT_EQ(suppressed, 2u);
}

}  // namespace
}  // namespace parley
