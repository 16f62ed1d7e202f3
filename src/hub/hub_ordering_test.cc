// The ordering the gateway relies on now that pushes travel on the commit feed's thread:
// a push may arrive after the ack and after a sync that already returned its event (a late
// duplicate, which clients skip by user_seq), but attach-then-sync never loses an event.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

#include "hub/hub.h"
#include "protocol/decode.h"
#include "tests/support/core_test.h"

namespace parley {
namespace {

// A session that keeps the user_seq of every event pushed to it.
class PushedSeqs : public Subscriber {
 public:
  void Deliver(std::vector<Frame> frames) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& f : frames) {
      auto push = DecodePush(*f);
      if (push.ok() && push->kind == Push::Kind::kEvent) seqs_.push_back(push->item.event.user_seq);
    }
  }
  void Revoke(uint16_t, std::string) override {}
  std::vector<Seq> seqs() {
    std::lock_guard<std::mutex> lock(mu_);
    return seqs_;
  }

 private:
  std::mutex mu_;
  std::vector<Seq> seqs_;
};

// Subscribed before the hub: while held, the feed's thread waits here, so every push lags
// behind the acks, as it may under load.
class Brake {
 public:
  explicit Brake(CommitFeed& feed)
      : subscription_(feed.Subscribe("brake", [this](const CommitFeed::Notice&) {
          std::unique_lock<std::mutex> lock(mu_);
          released_.wait(lock, [&] { return !held_; });
        })) {}
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    released_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable released_;
  bool held_ = false;
  CommitFeed::Subscription subscription_;
};

class HubOrderingTest : public test::CoreTest {};

TEST_F(HubOrderingTest, AttachThenSyncLosesNothingWhenPushesLagBehindAcks) {
  CommitFeed feed;
  feed_ = &feed;
  Brake brake(feed);
  Hub hub;
  hub.Follow(feed);
  auto users = MakeUsers(2);
  const UserId alice = users[0], bob = users[1];
  auto conv = core().conversations().OpenDirect(alice, bob);
  ASSERT_TRUE(conv.ok());
  feed.Flush();  // what came before is delivered: the sessions hear only what follows
  auto alice_phone = std::make_shared<PushedSeqs>();
  hub.Attach(alice, alice_phone);

  brake.Hold();
  Send(test::Id(alice), conv->id, "one");    // acked: durable, its push held back
  EXPECT_TRUE(alice_phone->seqs().empty());  // the ack came first

  // Bob connects: attach, then sync (what the gateway does: auth, then sync).
  auto bob_laptop = std::make_shared<PushedSeqs>();
  hub.Attach(bob, bob_laptop);
  const auto synced = SyncAll(test::Id(bob));
  Seq cursor = 0;
  for (const auto& item : synced) cursor = std::max(cursor, item.event.user_seq);
  ASSERT_GE(cursor, 1u);  // "one" is durable: the sync has it

  Send(test::Id(alice), conv->id, "two");  // after the sync: only a push can bring it
  brake.Release();
  feed.Flush();

  const auto pushed = bob_laptop->seqs();
  EXPECT_TRUE(std::is_sorted(pushed.begin(), pushed.end()));
  // The event of "one" came twice (sync, then a late push at or below the cursor)...
  EXPECT_TRUE(std::any_of(pushed.begin(), pushed.end(), [&](Seq s) { return s <= cursor; }));
  // ...and together they hold every event of bob's timeline.
  std::set<Seq> seen(pushed.begin(), pushed.end());
  for (const auto& item : synced) seen.insert(item.event.user_seq);
  const auto inbox = Inbox(bob);
  ASSERT_FALSE(inbox.empty());
  for (const auto& e : inbox) EXPECT_TRUE(seen.count(e.user_seq)) << "lost user_seq " << e.user_seq;
  EXPECT_EQ(alice_phone->seqs().size(), 2u);  // alice's own copies, late but there

  Close();
  feed.Stop();
  feed_ = nullptr;
}

}  // namespace
}  // namespace parley
