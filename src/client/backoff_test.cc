// The reconnect schedule: doubling ceilings, equal jitter, a cap, and a reset.
#include "client/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace parley::client {
namespace {

TEST(BackoffTest, DoublesUpToTheCapWithEqualJitter) {
  Backoff b(50, 5000, /*seed=*/42);
  int64_t ceiling = 50;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(b.ceiling_ms(), ceiling);
    const int64_t d = b.NextDelayMs();
    EXPECT_GE(d, ceiling / 2) << "attempt " << i;
    EXPECT_LE(d, ceiling) << "attempt " << i;
    ceiling = std::min<int64_t>(ceiling * 2, 5000);
  }
  EXPECT_EQ(b.ceiling_ms(), 5000);
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b(50, 5000, 7);
  for (int i = 0; i < 10; ++i) b.NextDelayMs();
  b.Reset();
  EXPECT_EQ(b.ceiling_ms(), 50);
  EXPECT_LE(b.NextDelayMs(), 50);
}

TEST(BackoffTest, JitterSpreadsClients) {
  // Many clients failing at the same moment must not all retry at the same moment.
  std::set<int64_t> first_delays;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    Backoff b(1000, 5000, seed);
    first_delays.insert(b.NextDelayMs());
  }
  EXPECT_GT(first_delays.size(), 50u);
}

TEST(BackoffTest, DegenerateBoundsStaySane) {
  Backoff b(0, 0, 3);
  for (int i = 0; i < 5; ++i) {
    int64_t d = b.NextDelayMs();
    EXPECT_GE(d, 0);
    EXPECT_LE(d, 1);
  }
  Backoff huge(1, INT64_MAX, 3);
  for (int i = 0; i < 100; ++i) EXPECT_GE(huge.NextDelayMs(), 0);  // no overflow
}

}  // namespace
}  // namespace parley::client
