// TimelineService: history paging (also under concurrent writes), time-centred windows,
// sync paging and resets after trimming, read-fan-out heads, and the conversation list.
#include "service/timeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Cat;
using test::Id;
using Mode = HistoryRequest::Mode;

class TimelineTest : public test::OnEveryStore<test::DirectConvTest> {
 protected:
  HistoryPage Page(Mode mode, Seq seq, size_t limit, int64_t time_ms = 0) {
    HistoryRequest req;
    req.conv_id = conv_;
    req.mode = mode;
    req.seq = seq;
    req.limit = limit;
    req.time_ms = time_ms;
    auto r = core().timeline().History(Id(a_), req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    // Every page is ascending and contiguous.
    for (size_t i = 1; i < r->messages.size(); ++i) {
      EXPECT_EQ(r->messages[i].seq, r->messages[i - 1].seq + 1);
    }
    return std::move(r).value();
  }

  // Pages from the newest message down to 1; the seqs visited, in visiting order.
  std::vector<Seq> PageBackward(size_t limit) {
    std::vector<Seq> seen;
    HistoryPage page = Page(Mode::kLatest, 0, limit);
    for (int n = 0; n < 100000; ++n) {
      for (auto it = page.messages.rbegin(); it != page.messages.rend(); ++it) {
        seen.push_back(it->seq);
      }
      if (!page.has_more_before) break;
      EXPECT_FALSE(page.messages.empty());
      if (page.messages.empty()) break;
      page = Page(Mode::kBefore, page.messages.front().seq, limit);
    }
    return seen;
  }

  // Pages from the start up to what is the head by the time it gets there.
  std::vector<Seq> PageForward(size_t limit) {
    std::vector<Seq> seen;
    Seq after = 0;
    for (int n = 0; n < 100000; ++n) {
      HistoryPage page = Page(Mode::kAfter, after, limit);
      for (const auto& m : page.messages) seen.push_back(m.seq);
      if (!page.messages.empty()) after = page.messages.back().seq;
      if (!page.has_more_after) break;
      EXPECT_FALSE(page.messages.empty());
      if (page.messages.empty()) break;
    }
    return seen;
  }
};

TEST_P(TimelineTest, PagingVisitsTenThousandMessagesOnceInBothDirections) {
  SetUpDirect();
  constexpr Seq kMessages = 10000;
  auto acks = SendMany(Id(a_), conv_, kMessages);
  ASSERT_EQ(acks.size(), kMessages);
  ASSERT_EQ(Head(conv_), kMessages);

  for (size_t limit : {size_t{200}, size_t{37}}) {
    SCOPED_TRACE(Cat("limit ", limit));
    auto down = PageBackward(limit);
    ASSERT_EQ(down.size(), kMessages);
    for (size_t i = 0; i < down.size(); ++i) ASSERT_EQ(down[i], kMessages - i);
    auto up = PageForward(limit);
    ASSERT_EQ(up.size(), kMessages);
    for (size_t i = 0; i < up.size(); ++i) ASSERT_EQ(up[i], i + 1);
  }
}

TEST_P(TimelineTest, PagingVisitsEachMessageOnceWhileNewOnesArrive) {
  SetUpDirect();
  constexpr Seq kMessages = 10000;
  std::map<Seq, uint64_t> msg_ids;
  for (const auto& a : SendMany(Id(a_), conv_, kMessages)) msg_ids[a.seq] = a.msg_id;

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<SendAck> live;
  std::thread writer([&] {
    for (int i = 0; i < 3000 && !stop.load(); ++i) {
      SendAck ack = Send(Id(b_), conv_, "live");
      std::lock_guard<std::mutex> lock(mu);
      live.push_back(ack);
    }
  });
  auto down = PageBackward(101);
  auto up = PageForward(199);
  stop = true;
  writer.join();

  ASSERT_GE(down.size(), kMessages);
  const Seq top = down.front();
  ASSERT_EQ(down.size(), top);
  for (size_t i = 0; i < down.size(); ++i) ASSERT_EQ(down[i], top - i);
  ASSERT_GE(up.size(), kMessages);
  for (size_t i = 0; i < up.size(); ++i) ASSERT_EQ(up[i], i + 1);

  // The pages showed exactly the acknowledged messages.
  for (const auto& a : live) msg_ids[a.seq] = a.msg_id;
  EXPECT_EQ(msg_ids.size(), kMessages + live.size());
  EXPECT_EQ(Head(conv_), msg_ids.size());
  auto all = AllMessages(conv_);
  ASSERT_EQ(all.size(), msg_ids.size());
  for (const auto& m : all) ASSERT_EQ(m.msg_id, msg_ids[m.seq]) << "seq " << m.seq;
  RecordProperty("messages_sent_while_paging", static_cast<int>(live.size()));
}

TEST_P(TimelineTest, HistoryModesLimitsAndEdges) {
  config_.history_default_limit = 10;
  config_.history_max_limit = 25;
  SetUpDirect();
  HistoryPage empty = Page(Mode::kLatest, 0, 0);
  EXPECT_TRUE(empty.messages.empty());
  EXPECT_FALSE(empty.has_more_before);
  EXPECT_FALSE(empty.has_more_after);
  EXPECT_EQ(empty.head_seq, 0u);

  SendMany(Id(a_), conv_, 60);
  HistoryPage latest = Page(Mode::kLatest, 0, 0);  // the default limit
  ASSERT_EQ(latest.messages.size(), 10u);
  EXPECT_EQ(latest.messages.front().seq, 51u);
  EXPECT_EQ(latest.messages.back().seq, 60u);
  EXPECT_TRUE(latest.has_more_before);
  EXPECT_FALSE(latest.has_more_after);
  EXPECT_EQ(latest.head_seq, 60u);

  HistoryPage capped = Page(Mode::kLatest, 0, 1000);  // clamped to the maximum
  EXPECT_EQ(capped.messages.size(), 25u);

  HistoryPage before = Page(Mode::kBefore, 20, 5);
  ASSERT_EQ(before.messages.size(), 5u);
  EXPECT_EQ(before.messages.front().seq, 15u);
  EXPECT_EQ(before.messages.back().seq, 19u);
  EXPECT_TRUE(before.has_more_before);
  EXPECT_TRUE(before.has_more_after);

  HistoryPage first = Page(Mode::kBefore, 3, 5);
  ASSERT_EQ(first.messages.size(), 2u);
  EXPECT_FALSE(first.has_more_before);
  EXPECT_TRUE(first.has_more_after);
  HistoryPage nothing_before = Page(Mode::kBefore, 1, 5);
  EXPECT_TRUE(nothing_before.messages.empty());
  EXPECT_FALSE(nothing_before.has_more_before);
  EXPECT_TRUE(nothing_before.has_more_after);
  HistoryPage beyond = Page(Mode::kBefore, 1000, 5);  // as kLatest
  ASSERT_EQ(beyond.messages.size(), 5u);
  EXPECT_EQ(beyond.messages.back().seq, 60u);

  HistoryPage after = Page(Mode::kAfter, 57, 5);
  ASSERT_EQ(after.messages.size(), 3u);
  EXPECT_EQ(after.messages.front().seq, 58u);
  EXPECT_TRUE(after.has_more_before);
  EXPECT_FALSE(after.has_more_after);
  HistoryPage nothing_after = Page(Mode::kAfter, 60, 5);
  EXPECT_TRUE(nothing_after.messages.empty());
  EXPECT_TRUE(nothing_after.has_more_before);
  EXPECT_FALSE(nothing_after.has_more_after);
  for (Seq huge : {Seq{61}, Seq{1000}, std::numeric_limits<Seq>::max()}) {
    HistoryPage past_head = Page(Mode::kAfter, huge, 5);
    EXPECT_TRUE(past_head.messages.empty()) << huge;
    EXPECT_TRUE(past_head.has_more_before) << huge;
    EXPECT_FALSE(past_head.has_more_after) << huge;
  }
  HistoryPage from_start = Page(Mode::kAfter, 0, 5);
  ASSERT_EQ(from_start.messages.size(), 5u);
  EXPECT_EQ(from_start.messages.front().seq, 1u);
  EXPECT_FALSE(from_start.has_more_before);
  EXPECT_TRUE(from_start.has_more_after);

  // The outsider may not page.
  HistoryRequest req;
  req.conv_id = conv_;
  req.mode = Mode::kAfter;
  EXPECT_EQ(core().timeline().History(Id(outsider_), req).status().code(), Code::kNotMember);
}

TEST_P(TimelineTest, AroundTimeCentresOnTheFirstMessageAtOrAfterTheTime) {
  SetUpDirect();
  // Sent one after another, so server times spread over several milliseconds.
  std::vector<SendAck> acks;
  for (int i = 0; i < 300; ++i) acks.push_back(Send(Id(i % 2 ? a_ : b_), conv_));
  auto all = AllMessages(conv_);
  ASSERT_EQ(all.size(), 300u);
  for (size_t i = 1; i < all.size(); ++i) ASSERT_GE(all[i].server_ms, all[i - 1].server_ms);

  auto first_at_or_after = [&](int64_t t) -> Seq {
    for (const auto& m : all) {
      if (m.server_ms >= t) return m.seq;
    }
    return all.size() + 1;
  };
  const size_t limit = 20;
  for (size_t probe : {size_t{0}, size_t{5}, size_t{150}, size_t{290}, size_t{299}}) {
    for (int64_t delta : {int64_t{0}, int64_t{-1}, int64_t{1}}) {
      const int64_t t = all[probe].server_ms + delta;
      SCOPED_TRACE(Cat("probe ", probe, " delta ", delta));
      const Seq pivot = first_at_or_after(t);
      HistoryPage page = Page(Mode::kAroundTime, 0, limit, t);
      ASSERT_EQ(page.messages.size(), limit);
      const Seq lo = page.messages.front().seq, hi = page.messages.back().seq;
      if (pivot <= all.size()) {
        EXPECT_LE(lo, pivot);
        EXPECT_GE(hi, pivot);
        // Centred: up to half the page before the pivot, unless the end is near.
        const size_t after_count = std::min<size_t>(all.size() - pivot + 1, limit);
        const size_t before_count = limit - after_count;
        EXPECT_EQ(pivot - lo,
                  std::max<size_t>(before_count, std::min<size_t>(limit / 2, pivot - 1)));
      } else {
        EXPECT_EQ(hi, all.size());
      }
      EXPECT_EQ(page.has_more_before, lo > 1);
      EXPECT_EQ(page.has_more_after, hi < all.size());
    }
  }
  // Before everything: the page starts at 1. After everything: the latest messages.
  HistoryPage early = Page(Mode::kAroundTime, 0, limit, all.front().server_ms - 100000);
  ASSERT_FALSE(early.messages.empty());
  EXPECT_EQ(early.messages.front().seq, 1u);
  EXPECT_FALSE(early.has_more_before);
  HistoryPage late = Page(Mode::kAroundTime, 0, limit, all.back().server_ms + 100000);
  ASSERT_EQ(late.messages.size(), limit);
  EXPECT_EQ(late.messages.back().seq, 300u);
  EXPECT_FALSE(late.has_more_after);
}

TEST_P(TimelineTest, SyncPagesWithLimitHasMoreAndNext) {
  config_.sync_default_limit = 7;
  config_.sync_max_limit = 20;
  SetUpDirect();
  SendMany(Id(a_), conv_, 50);
  const Seq total = LastUserSeq(b_);  // the join event + 50 messages
  ASSERT_EQ(total, 51u);

  SyncRequest req;
  auto r = core().timeline().Sync(Id(b_), req);  // the default limit
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->reset);
  ASSERT_EQ(r->items.size(), 7u);
  EXPECT_TRUE(r->has_more);
  EXPECT_EQ(r->next, 7u);
  EXPECT_EQ(r->items.front().event.user_seq, 1u);
  EXPECT_EQ(r->items.front().event.type, EventType::kMemberJoined);
  EXPECT_FALSE(r->items.front().message.has_value());
  EXPECT_EQ(r->items[1].event.type, EventType::kMessage);
  ASSERT_TRUE(r->items[1].message.has_value());
  EXPECT_EQ(r->items[1].message->seq, r->items[1].event.conv_seq);

  req.since = r->next;
  req.limit = 1000;  // clamped to the maximum
  r = core().timeline().Sync(Id(b_, "laptop"), req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 20u);
  EXPECT_EQ(r->items.front().event.user_seq, 8u);
  EXPECT_EQ(r->next, 27u);
  EXPECT_TRUE(r->has_more);

  req.since = 27;
  req.limit = 20;
  r = core().timeline().Sync(Id(b_, "laptop"), req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->next, 47u);
  req.since = 47;
  r = core().timeline().Sync(Id(b_, "laptop"), req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 4u);
  EXPECT_FALSE(r->has_more);
  EXPECT_EQ(r->next, total);
  req.since = total;
  r = core().timeline().Sync(Id(b_, "laptop"), req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->items.empty());
  EXPECT_FALSE(r->has_more);
  EXPECT_EQ(r->next, total);

  // Each sync recorded the device's processed cursor (asynchronously, with the next commit).
  Flush();
  EXPECT_EQ(*core().store().GetDeviceCursor(b_, "laptop"), total);
  EXPECT_EQ(*core().store().GetDeviceCursor(b_, "dev"), 0u);
}

TEST_P(TimelineTest, SyncAfterTrimmingResets) {
  SetUpDirect();
  SendMany(Id(a_), conv_, 29);
  ASSERT_EQ(LastUserSeq(b_), 30u);
  ASSERT_TRUE(core().store().TrimInbox(b_, 21).ok());
  EXPECT_EQ(*core().store().InboxFloor(b_), 21u);
  EXPECT_EQ(LastUserSeq(b_), 30u);

  for (Seq stale : {Seq{0}, Seq{10}, Seq{19}}) {
    SyncRequest req;
    req.since = stale;
    auto r = core().timeline().Sync(Id(b_), req);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->reset) << "since " << stale;
    EXPECT_TRUE(r->items.empty());
    EXPECT_EQ(r->next, 30u);
  }
  // A device that saw 20 misses nothing and continues normally.
  SyncRequest req;
  req.since = 20;
  auto r = core().timeline().Sync(Id(b_), req);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->reset);
  ASSERT_EQ(r->items.size(), 10u);
  EXPECT_EQ(r->items.front().event.user_seq, 21u);

  // Trimming everything keeps the numbering, also across a restart.
  ASSERT_TRUE(core().store().TrimInbox(b_, 1000).ok());
  EXPECT_EQ(*core().store().InboxFloor(b_), 31u);
  EXPECT_EQ(LastUserSeq(b_), 30u);
  Reopen();
  EXPECT_EQ(LastUserSeq(b_), 30u);
  Send(Id(a_), conv_);
  req.since = 30;
  r = core().timeline().Sync(Id(b_), req);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->reset);
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].event.user_seq, 31u);
  req.since = 25;
  r = core().timeline().Sync(Id(b_), req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->reset);
  EXPECT_EQ(r->next, 31u);
  // The sender's inbox was not touched.
  EXPECT_EQ(*core().store().InboxFloor(a_), 1u);
  EXPECT_EQ(Inbox(a_).size(), 31u);
}

TEST_P(TimelineTest, ACursorBeyondTheEndResets) {
  // What a device holds after its server was restored from an older backup.
  SetUpDirect();
  SendMany(Id(a_), conv_, 9);
  ASSERT_EQ(LastUserSeq(b_), 10u);
  SyncRequest req;
  req.since = 15;
  auto r = core().timeline().Sync(Id(b_), req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->reset);
  EXPECT_TRUE(r->items.empty());
  EXPECT_EQ(r->next, 10u);
  req.since = 10;  // at the end: nothing new, no reset
  r = core().timeline().Sync(Id(b_), req);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->reset);
  EXPECT_EQ(r->next, 10u);
}

TEST_P(TimelineTest, ReadFanoutHeadsAreReportedOncePerMove) {
  config_.read_fanout_threshold = 2;
  auto users = MakeUsers(4);
  auto g = core().conversations().CreateGroup(users[0], "g", {users[1], users[2]});
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->read_fanout);
  const Identity me = Id(users[1]);

  SyncRequest req;
  auto r = core().timeline().Sync(me, req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->heads.empty());  // no message yet
  req.since = r->next;
  req.heads_since = r->heads_next;

  SendAck first = Send(Id(users[0]), g->id);
  Send(Id(users[2]), g->id);
  r = core().timeline().Sync(me, req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->items.empty());  // no per-message events
  ASSERT_EQ(r->heads.size(), 1u);
  EXPECT_EQ(r->heads[0].conv_id, g->id);
  EXPECT_EQ(r->heads[0].last_seq, 2u);
  EXPECT_GE(r->heads[0].last_ms, first.server_ms);
  EXPECT_GE(r->heads_next, first.msg_id + 1);
  req.heads_since = r->heads_next;
  r = core().timeline().Sync(me, req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->heads.empty());

  // Unrelated traffic moves the watermark but not this head.
  auto other = core().conversations().OpenDirect(users[0], users[3]);
  ASSERT_TRUE(other.ok());
  Send(Id(users[0]), other->id);
  r = core().timeline().Sync(me, req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->heads.empty());
  req.heads_since = r->heads_next;
  // A recall moves it (and is also an event for every member).
  ASSERT_TRUE(core().messages().RecallSync(Id(users[0]), g->id, 1).ok());
  r = core().timeline().Sync(me, req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->heads.size(), 1u);
  EXPECT_EQ(r->heads[0].last_seq, 2u);
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].event.type, EventType::kRecall);

  // A write-fan-out member is never reported in heads.
  auto small = core().conversations().OpenDirect(users[1], users[3]);
  ASSERT_TRUE(small.ok());
  Send(Id(users[3]), small->id);
  r = core().timeline().Sync(me, SyncRequest{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->heads.size(), 1u);
  EXPECT_EQ(r->heads[0].conv_id, g->id);
}

TEST_P(TimelineTest, ConversationListIsMostRecentFirstWithPreviews) {
  auto users = MakeUsers(4);
  const UserId me = users[0];
  auto g = core().conversations().CreateGroup(users[3], "team", {me, users[1]});
  auto d1 = core().conversations().OpenDirect(me, users[1]);
  auto d2 = core().conversations().OpenDirect(users[2], me);
  ASSERT_TRUE(d1.ok() && d2.ok() && g.ok());
  Send(Id(users[1]), d1->id, "one");
  Send(Id(me), g->id, "two");
  Send(Id(users[2]), d2->id, "three");
  Send(Id(users[2]), d2->id, "four");

  auto list = core().timeline().ListConversations(Id(me));
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  // d2 and g may share a millisecond; then the newer id (d2) comes first.
  EXPECT_EQ((*list)[0].conv.id, d2->id);
  EXPECT_EQ((*list)[0].peer, users[2]);
  EXPECT_EQ((*list)[0].unread, 2u);
  ASSERT_TRUE((*list)[0].last_message.has_value());
  EXPECT_EQ((*list)[0].last_message->body, "four");
  EXPECT_EQ((*list)[0].head.last_seq, 2u);
  for (size_t i = 1; i < list->size(); ++i) {
    EXPECT_GE((*list)[i - 1].head.last_ms, (*list)[i].head.last_ms);
  }
  for (const auto& s : *list) {
    if (s.conv.id == g->id) {
      EXPECT_EQ(s.role, Role::kMember);
      EXPECT_EQ(s.peer, 0u);
      EXPECT_EQ(s.unread, 0u);  // my own message
      EXPECT_EQ(s.conv.title, "team");
    } else if (s.conv.id == d1->id) {
      EXPECT_EQ(s.peer, users[1]);
      EXPECT_EQ(s.unread, 1u);
      EXPECT_EQ(s.last_message->body, "one");
    }
  }
  // A conversation without messages has no preview.
  auto quiet = core().conversations().OpenDirect(users[3], users[2]);
  ASSERT_TRUE(quiet.ok());
  auto fresh = core().timeline().ListConversations(Id(users[3]));
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(fresh->size(), 2u);
  for (const auto& s : *fresh) {
    if (s.conv.id == g->id) {
      EXPECT_EQ(s.role, Role::kOwner);
      EXPECT_TRUE(s.last_message.has_value());
      EXPECT_EQ(s.unread, 1u);
    } else {
      EXPECT_EQ(s.conv.id, quiet->id);
      EXPECT_FALSE(s.last_message.has_value());
      EXPECT_EQ(s.head.last_seq, 0u);
      EXPECT_EQ(s.unread, 0u);
      EXPECT_EQ(s.peer, users[2]);
    }
  }
  auto none = core().timeline().ListConversations(Id(users[3] + 100));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(TimelineTest);

}  // namespace
}  // namespace parley
