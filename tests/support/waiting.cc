#include "tests/support/waiting.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/clock.h"

namespace parley::test {

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

void WaitPast(int64_t since_ms, int64_t window_ms) {
  const bool past =
      WaitUntil([&] { return NowMillis() - since_ms > window_ms + 1; }, std::chrono::seconds(10));
  ASSERT_TRUE(past) << "the clock did not pass " << window_ms << " ms after " << since_ms;
}

}  // namespace parley::test
