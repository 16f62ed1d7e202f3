#include "cluster/hint_bus.h"

#include <gtest/gtest.h>

#include "cluster/cluster_test_util.h"
#include "cluster/notice_codec.h"

namespace parley::cluster {
namespace {

CommitNotice OneEvent(UserId user, Seq user_seq) {
  CommitNotice n;
  n.committed_gseq = user_seq;
  n.events.push_back(InboxEvent{user, user_seq, EventType::kMessage, 1, user_seq, 2, 0, 0, 0});
  n.origins.push_back(77);
  return n;
}

class HintBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto launched = testing::RedisServer::Launch();
    ASSERT_TRUE(launched.ok()) << launched.status().ToString();
    redis_ = std::move(*launched);
    a_ = std::make_unique<Cluster>(TestOptions("a", redis_->port()), got_a_.Handlers(), reg_a_);
    b_ = std::make_unique<Cluster>(TestOptions("b", redis_->port()), got_b_.Handlers(), reg_b_);
    a_->Start();
    b_->Start();
    ASSERT_TRUE(WaitUp(*a_));
    ASSERT_TRUE(WaitUp(*b_));
    // Subscribed (the first subscribe counts as a resubscribe).
    ASSERT_TRUE(test::WaitUntil(
        [&] { return a_->bus().resubscribes() == 1 && b_->bus().resubscribes() == 1; }, kWait));
  }

  std::unique_ptr<testing::RedisServer> redis_;
  metrics::Registry reg_a_, reg_b_;
  Received got_a_, got_b_;
  std::unique_ptr<Cluster> a_, b_;
};

TEST_F(HintBusTest, NoticeGoesToTheOtherNodeNotBackToItsOwn) {
  EXPECT_EQ(got_a_.With([](Received& r) { return r.resubscribed; }), 1u);
  a_->bus().PublishNotice(OneEvent(5, 1));
  ASSERT_TRUE(test::WaitUntil(
      [&] { return got_b_.With([](Received& r) { return r.notices.size(); }) == 1; }, kWait));
  got_b_.With([](Received& r) {
    EXPECT_EQ(r.notices[0].events[0].user_id, 5u);
    EXPECT_TRUE(r.notices[0].origins.empty());
    return 0;
  });
  // a heard its own hint and ignored it.
  ASSERT_TRUE(test::WaitUntil([&] { return a_->bus().own_ignored() == 1; }, kWait));
  EXPECT_EQ(got_a_.With([](Received& r) { return r.notices.size(); }), 0u);
  const std::string metrics = reg_a_.RenderPrometheus();
  EXPECT_NE(metrics.find("parley_redis_hints_published_total{kind=\"inbox\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(reg_b_.RenderPrometheus().find("parley_redis_hints_received_total{kind=\"inbox\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("parley_redis_up 1"), std::string::npos);
}

TEST_F(HintBusTest, TypingAndRevocationsReachTheOtherNode) {
  b_->bus().PublishTyping({1, 2}, "{\"push\":\"typing\"}", 9);
  a_->bus().PublishRevoke(3, RevokeScope::kAllDevices, "");
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        return got_a_.With([](Received& r) { return r.typing.size(); }) == 1 &&
               got_b_.With([](Received& r) { return r.revokes.size(); }) == 1;
      },
      kWait));
  got_a_.With([](Received& r) {
    EXPECT_EQ(r.typing[0].sender, 9u);
    EXPECT_EQ(r.typing[0].users, (std::vector<UserId>{1, 2}));
    return 0;
  });
  got_b_.With([](Received& r) {
    EXPECT_EQ(r.revokes[0].user, 3u);
    EXPECT_EQ(r.revokes[0].scope, RevokeScope::kAllDevices);
    return 0;
  });
  EXPECT_TRUE(got_a_.With([](Received& r) { return r.revokes.empty(); }));
}

TEST_F(HintBusTest, MalformedHintsAreCountedAndDropped) {
  ASSERT_TRUE(redis_->Command({"PUBLISH", kInboxChannel, "\x01garbage"}).ok());
  ASSERT_TRUE(redis_->Command({"PUBLISH", kTokensChannel, ""}).ok());
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        return reg_b_.RenderPrometheus().find("parley_redis_hints_malformed_total 2") !=
               std::string::npos;
      },
      kWait));
  EXPECT_TRUE(got_b_.With([](Received& r) { return r.notices.empty() && r.revokes.empty(); }));
}

TEST_F(HintBusTest, ResubscribesAfterRedisRestartsAndDropsWhileDown) {
  redis_->Stop();
  ASSERT_TRUE(test::WaitUntil([&] { return !a_->redis_up() && !b_->redis_up(); }, kWait));
  EXPECT_NE(reg_a_.RenderPrometheus().find("parley_redis_up 0"), std::string::npos);
  a_->bus().PublishNotice(OneEvent(5, 2));  // lost: counted, not queued
  // Counted on the bus's thread, a moment later.
  EXPECT_TRUE(test::WaitUntil(
      [&] {
        return reg_a_.RenderPrometheus().find(
                   "parley_redis_hints_dropped_total{kind=\"inbox\"} 1") != std::string::npos;
      },
      kWait));
  ASSERT_TRUE(redis_->Start().ok());
  // Both resubscribe and say so: their sessions must resync.
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        return got_a_.With([](Received& r) { return r.resubscribed; }) == 2 &&
               got_b_.With([](Received& r) { return r.resubscribed; }) == 2;
      },
      kWait));
  ASSERT_TRUE(WaitUp(*a_));
  a_->bus().PublishNotice(OneEvent(5, 3));
  ASSERT_TRUE(test::WaitUntil(
      [&] { return got_b_.With([](Received& r) { return r.notices.size(); }) == 1; }, kWait));
  EXPECT_EQ(got_b_.With([](Received& r) { return r.notices[0].events[0].user_seq; }), 3u);
}

}  // namespace
}  // namespace parley::cluster
