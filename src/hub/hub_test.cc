// The hub delivers each committed event to every live session of its user, in order, and
// nothing to users who are offline or detached.
#include "hub/hub.h"

#include <gtest/gtest.h>

#include <mutex>

namespace parley {
namespace {

class RecordingSubscriber : public Subscriber {
 public:
  void Deliver(std::vector<Frame> frames) override {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& f : frames) got.push_back(*f);
  }
  std::mutex mu;
  std::vector<std::string> got;
};

InboxEvent Event(UserId user, Seq user_seq, ConvId conv, Seq seq) {
  InboxEvent e;
  e.user_id = user;
  e.user_seq = user_seq;
  e.conv_id = conv;
  e.conv_seq = seq;
  e.actor = 1;
  e.ms = 5;
  return e;
}

TEST(Hub, PushesEventsToEverySessionOfTheUserInOrder) {
  Hub hub;
  auto phone = std::make_shared<RecordingSubscriber>();
  auto laptop = std::make_shared<RecordingSubscriber>();
  auto other = std::make_shared<RecordingSubscriber>();
  hub.Attach(2, phone);
  hub.Attach(2, laptop);
  hub.Attach(3, other);
  EXPECT_EQ(hub.sessions(), 3u);
  EXPECT_EQ(hub.online_users(), 2u);

  CommitNotice notice;
  MessageRecord m;
  m.conv_id = 9;
  m.seq = 4;
  m.body = "hello";
  notice.messages.push_back(m);
  notice.events = {Event(2, 10, 9, 4), Event(2, 11, 9, 5), Event(4, 1, 9, 4)};
  hub.OnCommit(notice);

  ASSERT_EQ(phone->got.size(), 2u);
  EXPECT_EQ(phone->got, laptop->got);
  EXPECT_NE(phone->got[0].find("\"user_seq\":10"), std::string::npos);
  EXPECT_NE(phone->got[0].find("\"body\":\"hello\""), std::string::npos);
  EXPECT_NE(phone->got[1].find("\"user_seq\":11"), std::string::npos);
  EXPECT_EQ(phone->got[1].find("\"message\":{"), std::string::npos);  // not in this commit
  EXPECT_TRUE(other->got.empty());
  EXPECT_EQ(hub.frames_pushed(), 4u);
}

TEST(Hub, DetachedSessionsGetNothing) {
  Hub hub;
  auto s = std::make_shared<RecordingSubscriber>();
  hub.Attach(2, s);
  hub.Detach(2, s.get());
  hub.Detach(2, s.get());  // twice is harmless
  EXPECT_EQ(hub.sessions(), 0u);
  EXPECT_EQ(hub.online_users(), 0u);
  CommitNotice notice;
  notice.events = {Event(2, 1, 9, 1)};
  hub.OnCommit(notice);
  EXPECT_TRUE(s->got.empty());
}

TEST(Hub, BroadcastSkipsTheExceptedSession) {
  Hub hub;
  auto a = std::make_shared<RecordingSubscriber>();
  auto b = std::make_shared<RecordingSubscriber>();
  hub.Attach(2, a);
  hub.Attach(2, b);
  hub.Broadcast({2, 7}, std::make_shared<const std::string>("x"), a.get());
  EXPECT_TRUE(a->got.empty());
  ASSERT_EQ(b->got.size(), 1u);
}

TEST(Hub, ReadFanoutMovesBecomeHeadPushes) {
  Hub hub;
  auto a = std::make_shared<RecordingSubscriber>();
  hub.Attach(2, a);
  CommitNotice notice;
  notice.conv_moves.push_back(ConvMoved{
      9, 40, 1234, 77, std::make_shared<const std::vector<UserId>>(std::vector<UserId>{2, 3})});
  hub.OnCommit(notice);
  ASSERT_EQ(a->got.size(), 1u);
  EXPECT_EQ(a->got[0], R"({"push":"head","conv":9,"seq":40,"ts":1234})");
}

}  // namespace
}  // namespace parley
