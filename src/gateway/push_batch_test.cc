// The coalescing rule of a session's writes (push_batch.h), frame by frame: given queued
// frames and bounds, which frames each write takes and the frame it becomes.
#include "gateway/push_batch.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley {
namespace {

OutFrame PushOf(std::string json) {
  return OutFrame{std::make_shared<const std::string>(std::move(json)), true, {}};
}
OutFrame ReplyOf(std::string json) {
  return OutFrame{std::make_shared<const std::string>(std::move(json)), false, {}};
}
std::string Typing(int user) {
  return R"({"push":"typing","conv":1,"user":)" + std::to_string(user) + "}";
}

// Drains `outbox` as the session does: each write takes NextWriteCount frames; returns the
// frames written, in order.
std::vector<std::string> Drain(std::deque<OutFrame> outbox, bool batching,
                               const PushBatchLimits& limits) {
  std::vector<std::string> written;
  std::string batch;
  for (int guard = 0; !outbox.empty() && guard < 10000; ++guard) {
    size_t n = NextWriteCount(outbox, batching, limits);
    EXPECT_GE(n, 1u);
    if (n == 1) {
      written.push_back(*outbox.front().frame);
    } else {
      JoinPushes(outbox, n, &batch);
      written.push_back(batch);
    }
    outbox.erase(outbox.begin(), outbox.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return written;
}

TEST(PushBatchTest, EmptyOutboxWritesNothing) { EXPECT_EQ(NextWriteCount({}, true, {}), 0u); }

TEST(PushBatchTest, QueuedPushesBecomeOneFrameOfTheirObjects) {
  std::deque<OutFrame> q{PushOf(Typing(1)), PushOf(Typing(2)), PushOf(Typing(3))};
  auto out = Drain(q, true, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], R"({"push":"events","events":[)" + Typing(1) + "," + Typing(2) + "," +
                        Typing(3) + "]}");
}

TEST(PushBatchTest, ALonePushKeepsItsSingleForm) {
  auto out = Drain({PushOf(Typing(1))}, true, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], Typing(1));
}

TEST(PushBatchTest, WithoutBatchingEveryFrameGoesAlone) {
  std::deque<OutFrame> q{PushOf(Typing(1)), PushOf(Typing(2)), ReplyOf("{\"id\":1}")};
  EXPECT_EQ(Drain(q, false, {}), (std::vector<std::string>{Typing(1), Typing(2), "{\"id\":1}"}));
}

TEST(PushBatchTest, RepliesAreNeverMergedAndKeepTheirPlace) {
  std::deque<OutFrame> q{PushOf(Typing(1)),     PushOf(Typing(2)), ReplyOf("{\"id\":1}"),
                         ReplyOf("{\"id\":2}"), PushOf(Typing(3)), PushOf(Typing(4)),
                         ReplyOf("{\"id\":3}"), PushOf(Typing(5))};
  auto out = Drain(q, true, {});
  std::vector<std::string> want{
      R"({"push":"events","events":[)" + Typing(1) + "," + Typing(2) + "]}",
      "{\"id\":1}",
      "{\"id\":2}",
      R"({"push":"events","events":[)" + Typing(3) + "," + Typing(4) + "]}",
      "{\"id\":3}",
      Typing(5)};
  EXPECT_EQ(out, want);
}

TEST(PushBatchTest, ABatchHoldsAtMostMaxPushes) {
  std::deque<OutFrame> q;
  for (int i = 0; i < 7; ++i) q.push_back(PushOf(Typing(i)));
  PushBatchLimits limits;
  limits.max_pushes = 3;
  EXPECT_EQ(NextWriteCount(q, true, limits), 3u);
  auto out = Drain(q, true, limits);
  ASSERT_EQ(out.size(), 3u);  // 3 + 3 + 1
  EXPECT_EQ(out[2], Typing(6));
}

TEST(PushBatchTest, ABatchStaysWithinMaxBytes) {
  std::deque<OutFrame> q;
  for (int i = 0; i < 10; ++i) q.push_back(PushOf(Typing(i)));  // 36 bytes each
  PushBatchLimits limits;
  const size_t envelope = std::string(R"({"push":"events","events":[]})").size();
  limits.max_bytes = envelope + 3 * Typing(0).size() + 2;  // exactly three with commas
  EXPECT_EQ(NextWriteCount(q, true, limits), 3u);
  for (const auto& frame : Drain(q, true, limits)) EXPECT_LE(frame.size(), limits.max_bytes);
}

TEST(PushBatchTest, APushLargerThanTheBoundGoesAlone) {
  std::deque<OutFrame> q{PushOf(std::string(100, 'x')), PushOf(Typing(1))};
  PushBatchLimits limits;
  limits.max_bytes = 50;
  EXPECT_EQ(NextWriteCount(q, true, limits), 1u);
}

TEST(PushBatchTest, AReplyAtTheFrontIsWrittenAlone) {
  std::deque<OutFrame> q{ReplyOf("{\"id\":1}"), PushOf(Typing(1)), PushOf(Typing(2))};
  EXPECT_EQ(NextWriteCount(q, true, {}), 1u);
}

}  // namespace
}  // namespace parley
