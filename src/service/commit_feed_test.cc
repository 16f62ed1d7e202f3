// The commit feed delivers on its own thread, in commit order, the same notice to every
// subscriber; it never makes the publisher wait; it stays bounded by dropping and then
// reporting one gap; Stop() delivers what is queued and nothing after.
#include "service/commit_feed.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <variant>

namespace parley {
namespace {

using namespace std::chrono_literals;

CommitFeed::Notice NoticeAt(uint64_t gseq, size_t events = 1) {
  auto n = std::make_shared<CommitNotice>();
  n->committed_gseq = gseq;
  n->events.resize(events);
  return n;
}

// What one subscriber heard: a notice's gseq, or a gap.
using Heard = std::variant<uint64_t, CommitGap>;

class Recorder {
 public:
  CommitFeed::Subscription Follow(CommitFeed& feed, const std::string& name = "recorder") {
    return feed.Subscribe(
        name,
        [this](const CommitFeed::Notice& n) {
          std::lock_guard<std::mutex> lock(mu_);
          heard_.emplace_back(n->committed_gseq);
          notices_.push_back(n);
        },
        [this](const CommitGap& gap) {
          std::lock_guard<std::mutex> lock(mu_);
          heard_.emplace_back(gap);
        });
  }
  std::vector<Heard> heard() {
    std::lock_guard<std::mutex> lock(mu_);
    return heard_;
  }
  std::vector<CommitFeed::Notice> notices() {
    std::lock_guard<std::mutex> lock(mu_);
    return notices_;
  }

 private:
  std::mutex mu_;
  std::vector<Heard> heard_;
  std::vector<CommitFeed::Notice> notices_;
};

// A subscriber that holds the dispatch thread inside its callback until released.
class Gate {
 public:
  CommitFeed::Subscription Follow(CommitFeed& feed) {
    return feed.Subscribe("gate", [this](const CommitFeed::Notice&) {
      std::unique_lock<std::mutex> lock(mu_);
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    });
  }
  // Waits (bounded) until the dispatch thread is held in the gate.
  bool WaitEntered(int count = 1) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return entered_ >= count; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

std::vector<Heard> Gseqs(std::initializer_list<uint64_t> list) {
  return std::vector<Heard>(list.begin(), list.end());
}

// A feed whose dispatch thread is held at the gate (the first subscriber) inside notice 1;
// the recorder, subscribed after the gate, hears what passes it.
class HeldFeedTest : public ::testing::Test {
 protected:
  void HoldAtFirstNotice(CommitFeedOptions options = {}) {
    feed_ = std::make_unique<CommitFeed>(options);
    gate_subscription_ = gate_.Follow(*feed_);
    recorder_subscription_ = recorder_.Follow(*feed_);
    feed_->Publish(NoticeAt(1));
    ASSERT_TRUE(gate_.WaitEntered());
  }
  void TearDown() override {
    gate_.Open();
    gate_subscription_.Reset();  // before the feed they point to
    recorder_subscription_.Reset();
    feed_.reset();
  }

  std::unique_ptr<CommitFeed> feed_;
  Gate gate_;
  Recorder recorder_;
  CommitFeed::Subscription gate_subscription_, recorder_subscription_;
};

TEST(CommitFeed, EverySubscriberGetsTheSameNoticesInCommitOrder) {
  CommitFeed feed;
  Recorder a, b;
  auto sa = a.Follow(feed, "a");
  auto sb = b.Follow(feed, "b");
  std::vector<CommitFeed::Notice> published;
  for (uint64_t g = 1; g <= 200; ++g) {
    published.push_back(NoticeAt(g));
    feed.Publish(published.back());
  }
  feed.Flush();
  const auto got_a = a.notices(), got_b = b.notices();
  ASSERT_EQ(got_a.size(), published.size());
  ASSERT_EQ(got_b.size(), published.size());
  for (size_t i = 0; i < published.size(); ++i) {
    // Shared, not copied: every subscriber sees the published object itself.
    EXPECT_EQ(got_a[i].get(), published[i].get());
    EXPECT_EQ(got_b[i].get(), published[i].get());
  }
  EXPECT_EQ(feed.stats().delivered, 200u);
  EXPECT_EQ(feed.stats().dropped, 0u);
}

TEST_F(HeldFeedTest, PublishDoesNotWaitForASlowSubscriber) {
  HoldAtFirstNotice();
  // The subscriber is stuck; the publisher (the committer thread) is not.
  auto publishing = std::async(std::launch::async, [&] {
    for (uint64_t g = 2; g <= 10; ++g) feed_->Publish(NoticeAt(g));
  });
  EXPECT_EQ(publishing.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(recorder_.heard().empty());  // delivery order: the gate holds everyone
  EXPECT_EQ(feed_->stats().queued, 9u);
  gate_.Open();
  feed_->Flush();
  EXPECT_EQ(recorder_.heard(), Gseqs({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST_F(HeldFeedTest, AFullQueueDropsUntilDrainedThenReportsOneGapInOrder) {
  CommitFeedOptions options;
  options.max_queued_notices = 4;
  HoldAtFirstNotice(options);
  for (uint64_t g = 2; g <= 10; ++g) feed_->Publish(NoticeAt(g));  // 2..5 queue, 6..10 drop
  EXPECT_EQ(feed_->stats().queued, 4u);
  EXPECT_EQ(feed_->stats().dropped, 5u);
  gate_.Open();
  feed_->Flush();
  feed_->Publish(NoticeAt(11));  // after the gap: accepted again
  feed_->Flush();
  const auto heard = recorder_.heard();
  ASSERT_EQ(heard.size(), 7u);
  EXPECT_EQ(std::vector<Heard>(heard.begin(), heard.begin() + 5), Gseqs({1, 2, 3, 4, 5}));
  ASSERT_TRUE(std::holds_alternative<CommitGap>(heard[5]));
  EXPECT_EQ(std::get<CommitGap>(heard[5]).notices, 5u);
  EXPECT_EQ(std::get<CommitGap>(heard[5]).committed_gseq, 10u);
  EXPECT_EQ(heard[6], Heard(uint64_t{11}));
  EXPECT_EQ(feed_->stats().gaps, 1u);
}

TEST_F(HeldFeedTest, TheEventBoundDropsToo) {
  CommitFeedOptions options;
  options.max_queued_events = 10;
  HoldAtFirstNotice(options);
  feed_->Publish(NoticeAt(2, 6));
  feed_->Publish(NoticeAt(3, 6));  // 12 events would wait: dropped
  EXPECT_EQ(feed_->stats().dropped, 1u);
  gate_.Open();
  feed_->Flush();
  const auto heard = recorder_.heard();
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<CommitGap>(heard[2]));
  // A notice larger than the bound alone still passes an empty queue.
  feed_->Publish(NoticeAt(4, 50));
  feed_->Flush();
  EXPECT_EQ(recorder_.heard().back(), Heard(uint64_t{4}));
}

TEST_F(HeldFeedTest, StopDeliversWhatIsQueuedAndDiscardsLaterNotices) {
  HoldAtFirstNotice();
  feed_->Publish(NoticeAt(2));
  feed_->Publish(NoticeAt(3));
  auto stopping = std::async(std::launch::async, [&] { feed_->Stop(); });
  // Stop waits for the notices already queued.
  EXPECT_EQ(stopping.wait_for(50ms), std::future_status::timeout);
  gate_.Open();
  ASSERT_EQ(stopping.wait_for(10s), std::future_status::ready);
  feed_->Publish(NoticeAt(100));
  feed_->Flush();  // returns at once: the feed has stopped
  EXPECT_EQ(recorder_.heard(), Gseqs({1, 2, 3}));
}

TEST(CommitFeed, ASubscriptionEndsWhenReset) {
  CommitFeed feed;
  Recorder r;
  auto sub = r.Follow(feed);
  feed.Publish(NoticeAt(1));
  feed.Flush();
  sub.Reset();
  EXPECT_FALSE(sub.active());
  feed.Publish(NoticeAt(2));
  feed.Flush();
  EXPECT_EQ(r.heard(), Gseqs({1}));
}

TEST(CommitFeed, ResetWaitsForARunningCallback) {
  CommitFeed feed;
  Gate gate;
  auto sub = gate.Follow(feed);
  feed.Publish(NoticeAt(1));
  ASSERT_TRUE(gate.WaitEntered());
  auto resetting = std::async(std::launch::async, [&] { sub.Reset(); });
  EXPECT_EQ(resetting.wait_for(50ms), std::future_status::timeout);  // still in the callback
  gate.Open();
  EXPECT_EQ(resetting.wait_for(10s), std::future_status::ready);
}

TEST(CommitFeed, ACallbackMayDropItsOwnSubscription) {
  CommitFeed feed;
  int calls = 0;
  CommitFeed::Subscription sub;
  sub = feed.Subscribe("once", [&](const CommitFeed::Notice&) {
    ++calls;
    sub.Reset();  // on the dispatch thread: must not wait for itself
  });
  feed.Publish(NoticeAt(1));
  feed.Publish(NoticeAt(2));
  feed.Flush();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace parley
