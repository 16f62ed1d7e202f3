#include "common/circuit_breaker.h"

#include <gtest/gtest.h>

#include <thread>

namespace parley {
namespace {

using namespace std::chrono_literals;

CircuitBreaker::Options Fast() {
  CircuitBreaker::Options o;
  o.failures_to_open = 2;
  o.open_for = 30ms;
  o.max_open_for = 120ms;
  return o;
}

// Polls Allow() until it lets a call through (bounded).
bool AllowedWithin(CircuitBreaker& b, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (b.Allow()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

TEST(CircuitBreaker, OpensAfterFailuresInARowAndFailsFast) {
  CircuitBreaker b(Fast());
  EXPECT_TRUE(b.Allow());
  b.Failure();
  b.Success();  // not in a row
  b.Failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  b.Failure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  int64_t retry = -1;
  EXPECT_FALSE(b.Allow(&retry));
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 30);
  EXPECT_EQ(b.times_opened(), 1u);
}

TEST(CircuitBreaker, HalfOpenLetsOneProbeAndItsSuccessCloses) {
  CircuitBreaker b(Fast());
  b.Failure();
  b.Failure();
  ASSERT_TRUE(AllowedWithin(b, 1s));  // the probe
  EXPECT_EQ(b.state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_FALSE(b.Allow()) << "one probe at a time";
  b.Success();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow());
}

TEST(CircuitBreaker, FailedProbesBackOffUpToTheMaximum) {
  CircuitBreaker b(Fast());
  b.Failure();
  b.Failure();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(AllowedWithin(b, 1s));
    b.Failure();
    EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  }
  int64_t retry = -1;
  EXPECT_FALSE(b.Allow(&retry));
  EXPECT_GT(retry, 60) << "the open time doubled";
  EXPECT_LE(retry, 120) << "and stopped at the maximum";
}

}  // namespace
}  // namespace parley
