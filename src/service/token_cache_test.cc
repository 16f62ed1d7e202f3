#include "service/token_cache.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

DeviceRecord Device(UserId user, const std::string& device, const std::string& digest) {
  return DeviceRecord{user, device, digest, 1000, 1000};
}

TEST(TokenCacheTest, FindsWhatWasPutUntilItsLifetimeEnds) {
  TokenCache cache(100, 10);
  cache.Put(Device(1, "a", "d1"), cache.Begin(), 0);
  ASSERT_TRUE(cache.Find("d1", 99).has_value());
  EXPECT_EQ(cache.Find("d1", 99)->device_id, "a");
  EXPECT_FALSE(cache.Find("d1", 100).has_value());
  EXPECT_FALSE(cache.Find("other", 0).has_value());
}

TEST(TokenCacheTest, ForgetUserDropsOnlyThatUsersTokens) {
  TokenCache cache(1000, 10);
  cache.Put(Device(1, "a", "d1"), cache.Begin(), 0);
  cache.Put(Device(1, "b", "d2"), cache.Begin(), 0);
  cache.Put(Device(2, "a", "d3"), cache.Begin(), 0);
  cache.ForgetUser(1);
  EXPECT_FALSE(cache.Find("d1", 1).has_value());
  EXPECT_FALSE(cache.Find("d2", 1).has_value());
  EXPECT_TRUE(cache.Find("d3", 1).has_value());
  EXPECT_EQ(cache.size(), 1u);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TokenCacheTest, AReadThatStartedBeforeARevocationIsNotCached) {
  TokenCache cache(1000, 10);
  const uint64_t epoch = cache.Begin();  // a store read starts
  cache.ForgetUser(7);                   // a revocation commits meanwhile
  cache.Put(Device(1, "a", "d1"), epoch, 0);
  EXPECT_FALSE(cache.Find("d1", 1).has_value());
  cache.Put(Device(1, "a", "d1"), cache.Begin(), 0);
  EXPECT_TRUE(cache.Find("d1", 1).has_value());
}

TEST(TokenCacheTest, SeenMovesLastSeenForwardOnly) {
  TokenCache cache(1000, 10);
  cache.Put(Device(1, "a", "d1"), cache.Begin(), 0);
  cache.Seen("d1", 5000);
  cache.Seen("d1", 2000);
  EXPECT_EQ(cache.Find("d1", 1)->last_seen_ms, 5000);
}

TEST(TokenCacheTest, StaysWithinItsSizeAndCanBeTurnedOff) {
  TokenCache cache(1000, 3);
  for (int i = 0; i < 10; ++i) {
    cache.Put(Device(i, "a", "d" + std::to_string(i)), cache.Begin(), 0);
    EXPECT_LE(cache.size(), 3u);
  }
  EXPECT_TRUE(cache.Find("d9", 1).has_value());
  TokenCache off(0, 10);
  off.Put(Device(1, "a", "d1"), off.Begin(), 0);
  EXPECT_FALSE(off.Find("d1", 1).has_value());
}

}  // namespace
}  // namespace parley
