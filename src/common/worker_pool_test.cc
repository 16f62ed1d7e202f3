#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "common/hash_pool.h"

namespace parley {
namespace {

TEST(WorkerPool, TrySubmitRefusesBeyondTheQueueBound) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, 2);
    std::promise<void> started;
    ASSERT_TRUE(pool.TrySubmit([&] {
      started.set_value();
      released.wait();
      ++ran;
    }));
    started.get_future().wait();  // the one thread is busy: the queue holds the rest
    EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
    EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
    EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));
    pool.Submit([&] { ++ran; });  // Submit ignores the bound
    release.set_value();
  }
  EXPECT_EQ(ran.load(), 4);
}

TEST(HashPool, FullQueueGivesARetryHint) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  {
    HashPool pool(1, 1);
    std::promise<void> started;
    int64_t retry = -1;
    ASSERT_TRUE(pool.TrySubmit(
        [&] {
          started.set_value();
          released.wait();
        },
        &retry));
    started.get_future().wait();
    EXPECT_TRUE(pool.TrySubmit([] {}, &retry));
    EXPECT_FALSE(pool.TrySubmit([] {}, &retry));
    EXPECT_GE(retry, 1);
    EXPECT_EQ(pool.rejected(), 1u);
    release.set_value();
  }
}

}  // namespace
}  // namespace parley
