// The hub delivers each committed event to every live session of its user, in order, and
// nothing to users who are offline, detached or gone; a gap in the commit feed becomes one
// `resync` push per online session.
#include "hub/hub.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace parley {
namespace {

class RecordingSubscriber : public Subscriber {
 public:
  void Deliver(std::vector<Frame> frames) override {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& f : frames) got.push_back(*f);
  }
  void Revoke(uint16_t code, std::string reason) override {
    std::lock_guard<std::mutex> lock(mu);
    closes.emplace_back(code, std::move(reason));
  }
  std::mutex mu;
  std::vector<std::string> got;
  std::vector<std::pair<uint16_t, std::string>> closes;
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

TEST(Hub, SkipsOnlyTheOriginSessionForOnlyTheOriginEvent) {
  Hub hub;
  auto sender = std::make_shared<RecordingSubscriber>();        // session 7 of user 2
  auto sender_other = std::make_shared<RecordingSubscriber>();  // session 8 of user 2
  auto peer = std::make_shared<RecordingSubscriber>();          // session 9 of user 3
  ASSERT_TRUE(hub.Attach(2, "laptop", sender, hub.epoch(), 7));
  ASSERT_TRUE(hub.Attach(2, "laptop", sender_other, hub.epoch(), 8));  // same device
  ASSERT_TRUE(hub.Attach(3, "phone", peer, hub.epoch(), 9));

  // One commit of several requests: user 2's own message (from session 7), a message to
  // user 2 from someone else, and the peer's copy of the first.
  CommitNotice notice;
  notice.events = {Event(2, 10, 9, 4), Event(3, 20, 9, 4), Event(2, 11, 9, 5)};
  notice.origins = {7, 0, 0};
  hub.OnCommit(notice);

  ASSERT_EQ(sender->got.size(), 1u);
  EXPECT_NE(sender->got[0].find("\"user_seq\":11"), std::string::npos);
  ASSERT_EQ(sender_other->got.size(), 2u);
  EXPECT_NE(sender_other->got[0].find("\"user_seq\":10"), std::string::npos);
  EXPECT_NE(sender_other->got[1].find("\"user_seq\":11"), std::string::npos);
  ASSERT_EQ(peer->got.size(), 1u);
  EXPECT_EQ(hub.frames_pushed(), 4u);

  // One event of user 2 with user_seq `seq`, caused by session `origin`.
  auto commit_one = [&hub](Seq seq, uint64_t origin) {
    CommitNotice n;
    n.events = {Event(2, seq, 9, seq)};
    n.origins = {origin};
    hub.OnCommit(n);
  };
  // A commit whose only event for the sender is its own delivers nothing to it.
  commit_one(12, 7);
  EXPECT_EQ(sender->got.size(), 1u);
  EXPECT_EQ(sender_other->got.size(), 3u);

  // The origin is a session id, not an address: a session attached with id 0 (none) or
  // another id is never taken for it.
  auto anonymous = std::make_shared<RecordingSubscriber>();
  hub.Attach(2, anonymous);
  commit_one(13, 0);
  EXPECT_EQ(sender->got.size(), 2u);
  EXPECT_EQ(anonymous->got.size(), 1u);
}

TEST(Hub, RecordsItsTimePerCommitWhenGivenAHistogram) {
  Hub hub;
  metrics::Histogram h({0.001, 1});
  hub.set_commit_histogram(&h);
  auto s = std::make_shared<RecordingSubscriber>();
  hub.Attach(2, s);
  CommitNotice notice;
  notice.events = {Event(2, 1, 9, 1)};
  hub.OnCommit(notice);
  hub.OnCommit(notice);
  EXPECT_EQ(h.count(), 2u);
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
  notice.head_moves.push_back(HeadMoved{
      9, 40, 1234, 77, std::make_shared<const std::vector<UserId>>(std::vector<UserId>{2, 3})});
  hub.OnCommit(notice);
  ASSERT_EQ(a->got.size(), 1u);
  EXPECT_EQ(a->got[0], R"({"push":"head","conv":9,"seq":40,"ts":1234})");
}

CommitNotice OneEvent(UserId user) {
  CommitNotice notice;
  notice.events = {Event(user, 1, 9, 1)};
  return notice;
}

TEST(Hub, CloseEndsTheSessionsOfOneDeviceOnly) {
  Hub hub;
  auto phone1 = std::make_shared<RecordingSubscriber>();
  auto phone2 = std::make_shared<RecordingSubscriber>();
  auto laptop = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(hub.Attach(2, "phone", phone1, hub.epoch()));
  ASSERT_TRUE(hub.Attach(2, "phone", phone2, hub.epoch()));
  ASSERT_TRUE(hub.Attach(2, "laptop", laptop, hub.epoch()));
  EXPECT_EQ(hub.Close(2, Hub::Scope::kDevice, "phone", kCloseRevoked, "session revoked: logout"),
            2u);
  EXPECT_EQ(hub.sessions(), 1u);
  hub.OnCommit(OneEvent(2));
  EXPECT_TRUE(phone1->got.empty());
  EXPECT_TRUE(phone2->got.empty());
  EXPECT_EQ(laptop->got.size(), 1u);
  ASSERT_EQ(phone1->closes.size(), 1u);
  EXPECT_EQ(phone1->closes[0].first, kCloseRevoked);
  EXPECT_EQ(phone1->closes[0].second, "session revoked: logout");
  EXPECT_TRUE(laptop->closes.empty());
  // Detaching a session the hub already closed is harmless.
  hub.Detach(2, phone1.get());
  EXPECT_EQ(hub.sessions(), 1u);
}

TEST(Hub, CloseOtherDevicesKeepsTheNamedOne) {
  Hub hub;
  auto keep = std::make_shared<RecordingSubscriber>();
  auto other1 = std::make_shared<RecordingSubscriber>();
  auto other2 = std::make_shared<RecordingSubscriber>();
  auto stranger = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(hub.Attach(2, "a", keep, hub.epoch()));
  ASSERT_TRUE(hub.Attach(2, "b", other1, hub.epoch()));
  ASSERT_TRUE(hub.Attach(2, "c", other2, hub.epoch()));
  ASSERT_TRUE(hub.Attach(3, "b", stranger, hub.epoch()));
  EXPECT_EQ(hub.Close(2, Hub::Scope::kOtherDevices, "a", kCloseRevoked, "x"), 2u);
  EXPECT_TRUE(keep->closes.empty());
  EXPECT_EQ(other1->closes.size(), 1u);
  EXPECT_EQ(other2->closes.size(), 1u);
  EXPECT_TRUE(stranger->closes.empty());
  EXPECT_EQ(hub.Close(2, Hub::Scope::kAllDevices, "", kCloseRevoked, "x"), 1u);
  EXPECT_EQ(hub.sessions(), 1u);
  EXPECT_EQ(hub.online_users(), 1u);
  EXPECT_EQ(hub.sessions_revoked(), 3u);
}

TEST(Hub, AttachAfterACloseSinceTheEpochWasReadIsRefused) {
  Hub hub;
  auto s = std::make_shared<RecordingSubscriber>();
  const uint64_t before = hub.epoch();
  // A revocation runs between the credential check and the attach: even for no session
  // (ours was not attached yet) it moves the epoch, so the attach is refused.
  EXPECT_EQ(hub.Close(2, Hub::Scope::kDevice, "phone", kCloseRevoked, "x"), 0u);
  EXPECT_FALSE(hub.Attach(2, "phone", s, before));
  EXPECT_EQ(hub.sessions(), 0u);
  EXPECT_TRUE(hub.Attach(2, "phone", s, hub.epoch()));
  EXPECT_EQ(hub.sessions(), 1u);
}

TEST(Hub, SessionCapClosesTheOldest) {
  Hub hub(/*max_sessions_per_user=*/2);
  auto first = std::make_shared<RecordingSubscriber>();
  auto second = std::make_shared<RecordingSubscriber>();
  auto third = std::make_shared<RecordingSubscriber>();
  auto other_user = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(hub.Attach(2, "a", first, hub.epoch()));
  ASSERT_TRUE(hub.Attach(2, "b", second, hub.epoch()));
  ASSERT_TRUE(hub.Attach(3, "a", other_user, hub.epoch()));
  ASSERT_TRUE(hub.Attach(2, "c", third, hub.epoch()));
  ASSERT_EQ(first->closes.size(), 1u);
  EXPECT_EQ(first->closes[0].first, kCloseTooManySessions);
  EXPECT_TRUE(second->closes.empty());
  EXPECT_TRUE(third->closes.empty());
  EXPECT_TRUE(other_user->closes.empty());
  EXPECT_EQ(hub.sessions(), 3u);
  EXPECT_EQ(hub.sessions_over_cap(), 1u);
  hub.OnCommit(OneEvent(2));
  EXPECT_TRUE(first->got.empty());
  EXPECT_EQ(second->got.size(), 1u);
  EXPECT_EQ(third->got.size(), 1u);
}

// The hub holds sessions weakly: one that died without detaching is never reached and
// stops counting once the hub looks its user up.
TEST(Hub, ASessionThatDiedWithoutDetachingIsNotReached) {
  Hub hub;
  auto alive = std::make_shared<RecordingSubscriber>();
  auto dying = std::make_shared<RecordingSubscriber>();
  std::weak_ptr<RecordingSubscriber> dead = dying;
  hub.Attach(2, alive);
  hub.Attach(2, dying);
  dying.reset();  // gone, never detached
  EXPECT_TRUE(dead.expired());
  hub.OnCommit(OneEvent(2));
  EXPECT_EQ(alive->got.size(), 1u);
  EXPECT_EQ(hub.frames_pushed(), 1u);
  EXPECT_EQ(hub.sessions(), 1u);
  EXPECT_EQ(hub.Close(2, Hub::Scope::kAllDevices, "", kCloseRevoked, "x"), 1u);
  EXPECT_EQ(hub.online_users(), 0u);
}

TEST(Hub, ADeadSessionDoesNotCountAgainstTheCap) {
  Hub hub(/*max_sessions_per_user=*/1);
  auto dying = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(hub.Attach(2, "a", dying, hub.epoch()));
  dying.reset();
  auto next = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(hub.Attach(2, "b", next, hub.epoch()));
  EXPECT_EQ(hub.sessions_over_cap(), 0u);
  EXPECT_EQ(hub.sessions(), 1u);
}

TEST(Hub, AFeedGapSendsOneResyncToEveryOnlineSession) {
  Hub hub;
  auto a = std::make_shared<RecordingSubscriber>();
  auto b = std::make_shared<RecordingSubscriber>();
  auto gone = std::make_shared<RecordingSubscriber>();
  hub.Attach(2, a);
  hub.Attach(3, b);
  hub.Attach(4, gone);
  gone.reset();
  hub.OnGap();
  for (auto* s : {a.get(), b.get()}) {
    ASSERT_EQ(s->got.size(), 1u);
    EXPECT_EQ(s->got[0], R"({"push":"resync","reason":"server_lag"})");
  }
  EXPECT_EQ(hub.gap_resyncs(), 2u);
  EXPECT_EQ(hub.online_users(), 2u);
}

// Through a real feed: notices arrive on the feed's thread, a gap as a resync, and a
// destroyed hub hears nothing more.
TEST(Hub, FollowsACommitFeed) {
  CommitFeedOptions options;
  options.max_queued_notices = 1;
  CommitFeed feed(options);
  std::mutex mu;
  std::condition_variable cv;
  bool open = false, entered = false;
  auto gate = feed.Subscribe("gate", [&](const CommitFeed::Notice&) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  });
  auto s = std::make_shared<RecordingSubscriber>();
  {
    Hub hub;
    hub.Follow(feed);
    hub.Attach(2, s);
    auto notice = std::make_shared<CommitNotice>(OneEvent(2));
    feed.Publish(notice);  // held at the gate
    {
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return entered; }));
    }
    feed.Publish(notice);  // queued
    feed.Publish(notice);  // dropped: the queue holds one
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
    feed.Flush();
    std::lock_guard<std::mutex> lock(s->mu);
    ASSERT_EQ(s->got.size(), 3u);
    EXPECT_NE(s->got[0].find("\"push\":\"event\""), std::string::npos);
    EXPECT_NE(s->got[1].find("\"push\":\"event\""), std::string::npos);
    EXPECT_NE(s->got[2].find("\"push\":\"resync\""), std::string::npos);
  }
  feed.Publish(std::make_shared<CommitNotice>(OneEvent(2)));
  feed.Flush();
  EXPECT_EQ(s->got.size(), 3u);
}

}  // namespace
}  // namespace parley
