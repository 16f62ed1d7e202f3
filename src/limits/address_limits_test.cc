#include "limits/address_limits.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

using V = AddressLimits::Verdict;

TEST(AddressLimitsTest, CapsOpenConnectionsPerAddress) {
  AddressLimits limits(2, 0, 1);
  EXPECT_EQ(limits.TryOpen("a", 0).verdict, V::kAdmitted);
  EXPECT_EQ(limits.TryOpen("a", 0).verdict, V::kAdmitted);
  EXPECT_EQ(limits.TryOpen("a", 0).verdict, V::kTooManyOpen);
  EXPECT_EQ(limits.TryOpen("b", 0).verdict, V::kAdmitted);  // other addresses unaffected
  limits.Closed("a");
  EXPECT_EQ(limits.open("a"), 1u);
  EXPECT_EQ(limits.TryOpen("a", 0).verdict, V::kAdmitted);
}

TEST(AddressLimitsTest, RateLimitsNewConnectionsWithRetryAfter) {
  AddressLimits limits(0, 10, 3);  // 10/s, burst 3
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limits.TryOpen("a", 0).verdict, V::kAdmitted);
  auto refused = limits.TryOpen("a", 0);
  EXPECT_EQ(refused.verdict, V::kTooFast);
  EXPECT_EQ(refused.retry_after_us, 100'000);
  EXPECT_EQ(limits.TryOpen("a", 100'000).verdict, V::kAdmitted);
  EXPECT_EQ(limits.TryOpen("b", 0).verdict, V::kAdmitted);
}

TEST(AddressLimitsTest, ForgetsIdleAddresses) {
  AddressLimits limits(5, 1000, 1);
  for (int i = 0; i < 100; ++i) {
    std::string key = "k" + std::to_string(i);
    ASSERT_EQ(limits.TryOpen(key, 0).verdict, V::kAdmitted);
    limits.Closed(key);
  }
  // A sweep after the buckets refilled (1 ms) drops every closed address.
  for (uint64_t i = 0; i < AddressLimits::kSweepEvery; ++i) {
    limits.TryOpen("live", 10'000'000 + static_cast<int64_t>(i) * 1000);
    limits.Closed("live");
  }
  EXPECT_LE(limits.size(), 1u);
}

TEST(AddressLimitsTest, ZeroTurnsBothOff) {
  AddressLimits limits(0, 0, 1);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(limits.TryOpen("a", 0).verdict, V::kAdmitted);
  EXPECT_EQ(limits.size(), 0u);
}

}  // namespace
}  // namespace parley
