// MessageService: send validation, idempotent retries, membership checks, read cursors
// and recall.
#include "service/messaging.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <set>
#include <thread>

#include "common/clock.h"
#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Cat;
using test::Id;
using test::Results;
using test::WaitPast;
using namespace std::chrono_literals;

SendRequest Req(ConvId conv, std::string cmid, std::string body = "hi",
                MessageKind kind = MessageKind::kText) {
  SendRequest r;
  r.conv_id = conv;
  r.client_msg_id = std::move(cmid);
  r.kind = kind;
  r.body = std::move(body);
  return r;
}

class MessagingTest : public test::OnEveryStore<test::DirectConvTest> {
 protected:
  // What a request that must change nothing could have changed.
  struct Snapshot {
    Seq head;
    uint64_t head_gseq;
    std::vector<Seq> inboxes;
    std::vector<Seq> cursors;
    Counters counters;
    size_t changes;
    bool operator==(const Snapshot& o) const {
      return head == o.head && head_gseq == o.head_gseq && inboxes == o.inboxes &&
             cursors == o.cursors && counters.last_gseq == o.counters.last_gseq &&
             counters.last_user_id == o.counters.last_user_id &&
             counters.last_conv_id == o.counters.last_conv_id && changes == o.changes;
    }
  };
  Snapshot Snap() {
    Snapshot s;
    auto head = core().store().GetConvHead(conv_);
    EXPECT_TRUE(head.ok());
    s.head = head->last_seq;
    s.head_gseq = head->last_gseq;
    for (UserId u : {a_, b_, outsider_}) {
      s.inboxes.push_back(LastUserSeq(u));
      s.cursors.push_back(*core().store().GetReadCursor(u, conv_));
    }
    s.counters = *core().store().LoadCounters();
    s.changes = core().store().ScanChanges(0, SIZE_MAX)->size();
    return s;
  }
};

TEST_P(MessagingTest, SendStoresMessageEventsChangeAndCursor) {
  SetUpDirect();
  const Seq a_before = LastUserSeq(a_), b_before = LastUserSeq(b_);
  auto ack = core().messages().SendSync(Id(a_, "phone"), Req(conv_, "m1", "héllo 消息"));
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->conv_id, conv_);
  EXPECT_EQ(ack->seq, 1u);
  EXPECT_FALSE(ack->duplicate);
  EXPECT_GT(ack->server_ms, 0);

  auto m = core().store().GetMessage(conv_, 1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->msg_id, ack->msg_id);
  EXPECT_EQ(m->sender, a_);
  EXPECT_EQ(m->sender_device, "phone");
  EXPECT_EQ(m->client_msg_id, "m1");
  EXPECT_EQ(m->kind, MessageKind::kText);
  EXPECT_EQ(m->body, "héllo 消息");
  EXPECT_EQ(m->server_ms, ack->server_ms);
  EXPECT_FALSE(m->recalled);

  auto head = core().store().GetConvHead(conv_);
  EXPECT_EQ(head->last_seq, 1u);
  EXPECT_EQ(head->last_gseq, ack->msg_id);
  EXPECT_EQ(head->last_ms, ack->server_ms);
  for (auto [user, before] : {std::pair{a_, a_before}, std::pair{b_, b_before}}) {
    auto inbox = Inbox(user);
    // The first message shows the conversation a_ opened to b_: a member_joined first.
    ASSERT_EQ(inbox.size(), before + (user == b_ ? 2 : 1));
    if (user == b_) {
      EXPECT_EQ(inbox[inbox.size() - 2].type, EventType::kMemberJoined);
    }
    const InboxEvent& e = inbox.back();
    EXPECT_EQ(e.type, EventType::kMessage);
    EXPECT_EQ(e.conv_id, conv_);
    EXPECT_EQ(e.conv_seq, 1u);
    EXPECT_EQ(e.actor, a_);
    EXPECT_EQ(e.gseq, ack->msg_id);
  }
  auto changes = core().store().ScanChanges(0, 10);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ(changes->at(0).gseq, ack->msg_id);
  EXPECT_EQ(changes->at(0).kind, ChangeKind::kMessage);
  EXPECT_EQ(*core().store().GetReadCursor(a_, conv_), 1u);
  EXPECT_EQ(*core().store().GetReadCursor(b_, conv_), 0u);

  auto custom = core().messages().SendSync(
      Id(b_), Req(conv_, "m2", R"({"type":"image","w":3})", MessageKind::kCustom));
  ASSERT_TRUE(custom.ok()) << custom.status().ToString();
  EXPECT_EQ(core().store().GetMessage(conv_, 2)->kind, MessageKind::kCustom);
}

// --- idempotent send

TEST_P(MessagingTest, RetryReturnsTheFirstAckAndStoresNothing) {
  SetUpDirect();
  auto first = core().messages().SendSync(Id(a_), Req(conv_, "same-id", "one"));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  Send(Id(b_), conv_);  // something else in between
  Snapshot before = Snap();

  // The same request, even from another device: the first ack, nothing new stored.
  auto retry = core().messages().SendSync(Id(a_, "tablet"), Req(conv_, "same-id", "one"));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->conv_id, first->conv_id);
  EXPECT_EQ(retry->seq, first->seq);
  EXPECT_EQ(retry->msg_id, first->msg_id);
  EXPECT_EQ(retry->server_ms, first->server_ms);
  EXPECT_TRUE(Snap() == before);
  EXPECT_EQ(core().store().GetMessage(conv_, first->seq)->body, "one");

  // The dedup record is durable.
  Reopen();
  auto after_reopen = core().messages().SendSync(Id(a_), Req(conv_, "same-id", "one"));
  ASSERT_TRUE(after_reopen.ok());
  EXPECT_TRUE(after_reopen->duplicate);
  EXPECT_EQ(after_reopen->seq, first->seq);
  EXPECT_EQ(after_reopen->msg_id, first->msg_id);
  EXPECT_TRUE(Snap() == before);

  // The id is per sender: another user may use it.
  auto other = core().messages().SendSync(Id(b_), Req(conv_, "same-id"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->duplicate);
  EXPECT_EQ(other->seq, before.head + 1);
}

// Issue 10, item 14: a client_msg_id reused for another message is refused, not answered
// with the first ack (which would silently drop the new message).
TEST_P(MessagingTest, ReusedIdWithOtherContentIsAnIdempotencyConflict) {
  SetUpDirect();
  auto first = core().messages().SendSync(Id(a_, "phone"), Req(conv_, "key-1", "one"));
  ASSERT_TRUE(first.ok());
  Snapshot before = Snap();
  auto expect_conflict = [&](const Identity& who, SendRequest req) {
    auto r = core().messages().SendSync(who, std::move(req));
    EXPECT_EQ(r.status().code(), Code::kIdempotencyConflict) << r.status().ToString();
    EXPECT_TRUE(Snap() == before);
  };
  expect_conflict(Id(a_, "phone"), Req(conv_, "key-1", "two"));
  expect_conflict(Id(a_, "laptop"), Req(conv_, "key-1", "one "));  // another device
  expect_conflict(Id(a_), Req(conv_, "key-1", R"({"one":1})", MessageKind::kCustom));
  // After a restart, from the record alone.
  Reopen();
  expect_conflict(Id(a_, "laptop"), Req(conv_, "key-1", "two"));
  // An edit changes the stored body, not what the first send asked for.
  ASSERT_TRUE(core().messages().EditSync(Id(a_), conv_, first->seq, "edited").ok());
  before = Snap();
  expect_conflict(Id(a_), Req(conv_, "key-1", "edited"));
  auto retry = core().messages().SendSync(Id(a_, "laptop"), Req(conv_, "key-1", "one"));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->msg_id, first->msg_id);
  // Within one batch too: the second of two racing sends with other bodies is refused.
  Results<SendAck> both(2);
  core().messages().Send(Id(a_), Req(conv_, "racing-body", "x"), both.Slot(0));
  core().messages().Send(Id(a_), Req(conv_, "racing-body", "y"), both.Slot(1));
  both.Wait();
  ASSERT_TRUE(both[0].ok());
  EXPECT_EQ(both[1].status().code(), Code::kIdempotencyConflict);
}

// Dedup records written by the build before request digests: the stored message stands in
// for the original request while its body is still the original one.
TEST_P(MessagingTest, RecordsWithoutDigestAreComparedWithTheStoredMessage) {
  SetUpDirect();
  auto plain = core().messages().SendSync(Id(a_), Req(conv_, "old-1", "original"));
  auto edited = core().messages().SendSync(Id(a_), Req(conv_, "old-2", "before edit"));
  auto custom =
      core().messages().SendSync(Id(a_), Req(conv_, "old-3", R"({"a":1})", MessageKind::kCustom));
  ASSERT_TRUE(plain.ok() && edited.ok() && custom.ok());
  ASSERT_TRUE(core().messages().EditSync(Id(a_), conv_, edited->seq, "after edit").ok());
  Flush();
  // Rewrite the three records as the old build wrote them: no digest.
  WriteSet legacy;
  for (const char* cmid : {"old-1", "old-2", "old-3"}) {
    auto rec = core().store().GetDedup(a_, cmid, NowMillis());
    ASSERT_TRUE(rec.ok());
    ASSERT_FALSE(rec->request_digest.empty());
    rec->request_digest.clear();
    legacy.Add(op::PutDedup{a_, cmid, *rec});
  }
  ASSERT_TRUE(core().store().Apply(legacy, Durability::kSync).ok());
  Reopen();

  EXPECT_TRUE(core().messages().SendSync(Id(a_), Req(conv_, "old-1", "original"))->duplicate);
  EXPECT_EQ(core().messages().SendSync(Id(a_), Req(conv_, "old-1", "other")).status().code(),
            Code::kIdempotencyConflict);
  EXPECT_EQ(core()
                .messages()
                .SendSync(Id(a_), Req(conv_, "old-3", R"({"a":1})", MessageKind::kText))
                .status()
                .code(),
            Code::kIdempotencyConflict);
  EXPECT_TRUE(core()
                  .messages()
                  .SendSync(Id(a_), Req(conv_, "old-3", R"({"a":1})", MessageKind::kCustom))
                  ->duplicate);
  // Edited since: the original body is gone, so a retry of the same kind is taken as one.
  auto retry = core().messages().SendSync(Id(a_), Req(conv_, "old-2", "before edit"));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->msg_id, edited->msg_id);
}

TEST_P(MessagingTest, ConcurrentRetriesStoreExactlyOneMessage) {
  SetUpDirect();
  Send(Id(b_), conv_);
  constexpr int kThreads = 8, kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(Cat("round ", round));
    const Seq head_before = Head(conv_);
    const Seq inbox_before = LastUserSeq(b_);
    const std::string cmid = Cat("dup-", round);
    std::vector<Result<SendAck>> acks(kThreads, Status(Code::kInternal, "not sent"));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        acks[t] = core().messages().SendSync(Id(a_, Cat("device-", t)), Req(conv_, cmid, "same"));
      });
    }
    for (auto& th : threads) th.join();
    int originals = 0;
    for (const auto& ack : acks) {
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
      originals += ack->duplicate ? 0 : 1;
      EXPECT_EQ(ack->seq, head_before + 1);
      EXPECT_EQ(ack->msg_id, acks[0]->msg_id);
    }
    EXPECT_EQ(originals, 1);
    EXPECT_EQ(Head(conv_), head_before + 1);
    EXPECT_EQ(LastUserSeq(b_), inbox_before + 1);
  }
  EXPECT_EQ(AllMessages(conv_).size(), 1u + kRounds);
}

TEST_P(MessagingTest, ReusingAnIdInAnotherConversationIsRejected) {
  SetUpDirect();
  auto other = core().conversations().OpenDirect(a_, outsider_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(core().messages().SendSync(Id(a_), Req(conv_, "only-once")).ok());
  const Seq other_head = Head(other->id);
  auto r = core().messages().SendSync(Id(a_), Req(other->id, "only-once"));
  EXPECT_EQ(r.status().code(), Code::kIdempotencyConflict);
  EXPECT_EQ(Head(other->id), other_head);
  // Also when the first send is still in the same batch or in flight.
  Results<SendAck> both(2);
  core().messages().Send(Id(a_), Req(conv_, "racing"), both.Slot(0));
  core().messages().Send(Id(a_), Req(other->id, "racing"), both.Slot(1));
  both.Wait();
  ASSERT_TRUE(both[0].ok());
  EXPECT_EQ(both[1].status().code(), Code::kIdempotencyConflict);
  EXPECT_EQ(Head(other->id), other_head);
}

// --- membership

TEST_P(MessagingTest, NonMembersAreRefusedAndNothingChanges) {
  SetUpDirect();
  Send(Id(a_), conv_);
  Send(Id(b_), conv_);
  Snapshot before = Snap();
  const Identity out = Id(outsider_);

  auto sent = core().messages().SendSync(out, Req(conv_, "intruder"));
  EXPECT_EQ(sent.status().code(), Code::kNotMember);
  HistoryRequest hreq;
  hreq.conv_id = conv_;
  EXPECT_EQ(core().timeline().History(out, hreq).status().code(), Code::kNotMember);
  EXPECT_EQ(core().messages().RecallSync(out, conv_, 1).code(), Code::kNotMember);
  EXPECT_EQ(core().messages().MarkReadSync(out, conv_, 2).status().code(), Code::kNotMember);
  EXPECT_EQ(core().conversations().Members(outsider_, conv_).status().code(), Code::kNotMember);
  EXPECT_EQ(core().conversations().Get(outsider_, conv_).status().code(), Code::kNotMember);
  EXPECT_TRUE(Snap() == before);
  EXPECT_TRUE(core().store().GetDedup(outsider_, "intruder", NowMillis()).status().code() ==
              Code::kNotFound);

  // A conversation that does not exist looks the same as one the user is not in.
  const ConvId nowhere = conv_ + 1000;
  EXPECT_EQ(core().messages().SendSync(out, Req(nowhere, "x")).status().code(), Code::kNotMember);
  EXPECT_EQ(core().messages().RecallSync(out, nowhere, 1).code(), Code::kNotMember);
  EXPECT_EQ(core().messages().MarkReadSync(out, nowhere, 1).status().code(), Code::kNotMember);
  hreq.conv_id = nowhere;
  EXPECT_EQ(core().timeline().History(out, hreq).status().code(), Code::kNotMember);
  EXPECT_TRUE(Snap() == before);

  // Someone removed from a group loses access at once.
  auto users = MakeUsers(2);
  auto group = core().conversations().CreateGroup(users[0], "g", {users[1]});
  ASSERT_TRUE(group.ok());
  Send(Id(users[1]), group->id);
  ASSERT_TRUE(core().conversations().RemoveMember(users[0], group->id, users[1]).ok());
  EXPECT_EQ(core().messages().SendSync(Id(users[1]), Req(group->id, "gone")).status().code(),
            Code::kNotMember);
  hreq.conv_id = group->id;
  EXPECT_EQ(core().timeline().History(Id(users[1]), hreq).status().code(), Code::kNotMember);
  EXPECT_EQ(core().messages().RecallSync(Id(users[1]), group->id, 1).code(), Code::kNotMember);
  EXPECT_EQ(Head(group->id), 1u);
}

// --- validation

TEST_P(MessagingTest, InvalidRequestsAreRejectedAndChangeNothing) {
  config_.max_message_bytes = 1000;
  SetUpDirect();
  Send(Id(a_), conv_);
  Snapshot before = Snap();
  struct Case {
    SendRequest req;
    Code code;
  };
  std::vector<Case> cases = {
      {Req(conv_, "v-big", std::string(1001, 'x')), Code::kTooLarge},
      {Req(conv_, "v-big2", std::string(1001, 'x'), MessageKind::kCustom), Code::kTooLarge},
      {Req(conv_, "v-u1", "bad \xff byte"), Code::kInvalidUtf8},
      {Req(conv_, "v-u2", "overlong \xC0\xAF"), Code::kInvalidUtf8},
      {Req(conv_, "v-u3", "surrogate \xED\xA0\x80"), Code::kInvalidUtf8},
      {Req(conv_, "v-u4", "cut \xE6\xB6"), Code::kInvalidUtf8},
      {Req(conv_, "v-u5", "{\"k\":\"\xff\"}", MessageKind::kCustom), Code::kInvalidUtf8},
      {Req(conv_, "", "no id"), Code::kInvalidArgument},
      {Req(conv_, "has space", "x"), Code::kInvalidArgument},
      {Req(conv_, "tab\tid", "x"), Code::kInvalidArgument},
      {Req(conv_, "del\x7f", "x"), Code::kInvalidArgument},
      {Req(conv_, "caf\xc3\xa9", "x"), Code::kInvalidArgument},
      {Req(conv_, std::string(65, 'i'), "x"), Code::kInvalidArgument},
      {Req(conv_, "v-empty", ""), Code::kInvalidArgument},
      {Req(conv_, "v-c1", "[1,2]", MessageKind::kCustom), Code::kInvalidArgument},
      {Req(conv_, "v-c2", "\"text\"", MessageKind::kCustom), Code::kInvalidArgument},
      {Req(conv_, "v-c3", "not json", MessageKind::kCustom), Code::kInvalidArgument},
      {Req(conv_, "v-c4", "{\"a\":", MessageKind::kCustom), Code::kInvalidArgument},
      {Req(conv_, "v-c5", "", MessageKind::kCustom), Code::kInvalidArgument},
      {Req(conv_, "v-k1", "x", static_cast<MessageKind>(9)), Code::kInvalidArgument},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(Cat("client_msg_id '", c.req.client_msg_id, "' body size ", c.req.body.size()));
    const std::string cmid = c.req.client_msg_id;
    auto r = core().messages().SendSync(Id(a_), std::move(c.req));
    EXPECT_EQ(r.status().code(), c.code) << (r.ok() ? "accepted" : r.status().ToString());
    // A rejected id was not remembered either.
    if (!cmid.empty()) {
      EXPECT_EQ(core().store().GetDedup(a_, cmid, NowMillis()).status().code(), Code::kNotFound);
    }
  }
  EXPECT_TRUE(Snap() == before);

  // The limits themselves are accepted.
  EXPECT_TRUE(core().messages().SendSync(Id(a_), Req(conv_, "max", std::string(1000, 'y'))).ok());
  EXPECT_TRUE(core().messages().SendSync(Id(a_), Req(conv_, std::string(64, 'j'), "x")).ok());
  EXPECT_TRUE(
      core().messages().SendSync(Id(a_), Req(conv_, "obj", "{}", MessageKind::kCustom)).ok());
  EXPECT_EQ(Head(conv_), before.head + 3);
}

// --- read cursors

TEST_P(MessagingTest, ReadCursorMovesForwardOnlyAndNotifiesBothSides) {
  SetUpDirect();
  for (int i = 0; i < 5; ++i) Send(Id(a_), conv_);
  auto unread = [&](UserId u) -> std::pair<Seq, uint64_t> {
    auto list = core().timeline().ListConversations(Id(u));
    EXPECT_TRUE(list.ok());
    for (const auto& s : *list) {
      if (s.conv.id == conv_) return {s.read_seq, s.unread};
    }
    ADD_FAILURE() << "conversation not listed";
    return {0, 0};
  };
  // Sending moved the sender's cursor; the peer has everything unread.
  EXPECT_EQ(unread(a_), std::make_pair(Seq{5}, uint64_t{0}));
  EXPECT_EQ(unread(b_), std::make_pair(Seq{0}, uint64_t{5}));

  const Seq a_inbox = LastUserSeq(a_), b_inbox = LastUserSeq(b_);
  auto r = core().messages().MarkReadSync(Id(b_, "phone"), conv_, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->read_seq, 3u);
  EXPECT_EQ(unread(b_), std::make_pair(Seq{3}, uint64_t{2}));
  auto b_events = Inbox(b_);
  ASSERT_EQ(b_events.size(), b_inbox + 1);
  EXPECT_EQ(b_events.back().type, EventType::kRead);
  EXPECT_EQ(b_events.back().conv_id, conv_);
  EXPECT_EQ(b_events.back().conv_seq, 3u);
  EXPECT_EQ(b_events.back().actor, b_);
  auto a_events = Inbox(a_);
  ASSERT_EQ(a_events.size(), a_inbox + 1);
  EXPECT_EQ(a_events.back().type, EventType::kReceipt);
  EXPECT_EQ(a_events.back().conv_seq, 3u);
  EXPECT_EQ(a_events.back().actor, b_);

  // Lower or equal: unchanged, no events.
  for (Seq older : {Seq{2}, Seq{3}, Seq{0}}) {
    auto same = core().messages().MarkReadSync(Id(b_), conv_, older);
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(same->read_seq, 3u);
  }
  EXPECT_EQ(*core().store().GetReadCursor(b_, conv_), 3u);
  EXPECT_EQ(LastUserSeq(a_), a_inbox + 1);
  EXPECT_EQ(LastUserSeq(b_), b_inbox + 1);

  // Past the head: clamped.
  auto clamped = core().messages().MarkReadSync(Id(b_), conv_, 1000);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->read_seq, 5u);
  EXPECT_EQ(*core().store().GetReadCursor(b_, conv_), 5u);
  EXPECT_EQ(Inbox(a_).back().conv_seq, 5u);
  EXPECT_EQ(unread(b_), std::make_pair(Seq{5}, uint64_t{0}));

  // b sends: b's cursor follows, a has one unread.
  Send(Id(b_), conv_);
  EXPECT_EQ(unread(b_), std::make_pair(Seq{6}, uint64_t{0}));
  EXPECT_EQ(unread(a_), std::make_pair(Seq{5}, uint64_t{1}));
  // The cursor survives a restart.
  Reopen();
  EXPECT_EQ(unread(a_), std::make_pair(Seq{5}, uint64_t{1}));
  auto again = core().messages().MarkReadSync(Id(b_), conv_, 4);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->read_seq, 6u);
}

TEST_P(MessagingTest, GroupReadGoesOnlyToOwnInbox) {
  auto users = MakeUsers(3);
  auto g = core().conversations().CreateGroup(users[0], "g", {users[1], users[2]});
  ASSERT_TRUE(g.ok());
  Send(Id(users[0]), g->id);
  Send(Id(users[0]), g->id);
  std::vector<Seq> before;
  for (UserId u : users) before.push_back(LastUserSeq(u));
  auto r = core().messages().MarkReadSync(Id(users[1]), g->id, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->read_seq, 2u);
  EXPECT_EQ(LastUserSeq(users[0]), before[0]);
  EXPECT_EQ(LastUserSeq(users[1]), before[1] + 1);
  EXPECT_EQ(Inbox(users[1]).back().type, EventType::kRead);
  EXPECT_EQ(LastUserSeq(users[2]), before[2]);
}

TEST_P(MessagingTest, ConcurrentMarkReadNeverMovesBack) {
  SetUpDirect();
  SendMany(Id(a_), conv_, 300);
  const Seq inbox_before = LastUserSeq(b_);
  constexpr int kThreads = 8, kPerThread = 40;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        // A zig-zag of targets: every thread goes up and down.
        Seq target = 1 + (t * 37 + i * 53) % 300;
        auto r = core().messages().MarkReadSync(Id(b_), conv_, target);
        if (!r.ok() || r->read_seq < target) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  Seq max_target = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      max_target = std::max<Seq>(max_target, 1 + (t * 37 + i * 53) % 300);
    }
  }
  EXPECT_EQ(*core().store().GetReadCursor(b_, conv_), max_target);
  // Every kRead event moved the cursor strictly forward.
  auto inbox = Inbox(b_);
  Seq last = 0;
  for (size_t i = inbox_before; i < inbox.size(); ++i) {
    ASSERT_EQ(inbox[i].type, EventType::kRead);
    EXPECT_GT(inbox[i].conv_seq, last);
    last = inbox[i].conv_seq;
  }
  EXPECT_EQ(last, max_target);
}

// --- recall

TEST_P(MessagingTest, SenderRecallsWithinTheWindow) {
  SetUpDirect();
  SendAck first = Send(Id(a_), conv_, "oops");
  SendAck second = Send(Id(a_), conv_, "fine");
  const Seq a_inbox = LastUserSeq(a_), b_inbox = LastUserSeq(b_);

  // The peer may not recall a's message in a direct conversation.
  EXPECT_EQ(core().messages().RecallSync(Id(b_), conv_, first.seq).code(), Code::kPermissionDenied);
  EXPECT_EQ(core().messages().RecallSync(Id(a_), conv_, 0).code(), Code::kNotFound);
  EXPECT_EQ(core().messages().RecallSync(Id(a_), conv_, 3).code(), Code::kNotFound);
  EXPECT_EQ(LastUserSeq(b_), b_inbox);

  ASSERT_TRUE(core().messages().RecallSync(Id(a_), conv_, first.seq).ok());
  auto m = core().store().GetMessage(conv_, first.seq);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->recalled);
  EXPECT_TRUE(m->body.empty());
  EXPECT_EQ(m->recalled_by, a_);
  EXPECT_GE(m->recalled_ms, first.server_ms);
  EXPECT_EQ(m->msg_id, first.msg_id);
  EXPECT_EQ(core().store().GetMessage(conv_, second.seq)->body, "fine");
  auto head = core().store().GetConvHead(conv_);
  EXPECT_EQ(head->last_seq, second.seq);  // a recall is not a new message
  EXPECT_GT(head->last_gseq, second.msg_id);
  auto changes = core().store().ScanChanges(second.msg_id, 10);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ(changes->at(0).kind, ChangeKind::kRecall);
  EXPECT_EQ(changes->at(0).conv_seq, first.seq);
  EXPECT_EQ(changes->at(0).gseq, head->last_gseq);

  // History shows a tombstone.
  HistoryRequest hreq;
  hreq.conv_id = conv_;
  auto page = core().timeline().History(Id(b_), hreq);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 2u);
  EXPECT_TRUE(page->messages[0].recalled);
  EXPECT_TRUE(page->messages[0].body.empty());
  EXPECT_FALSE(page->messages[1].recalled);

  // Both members get a kRecall event; sync carries the tombstone, also on the old event.
  for (auto [user, before] : {std::pair{a_, a_inbox}, std::pair{b_, b_inbox}}) {
    auto items = SyncAll(Id(user));
    ASSERT_EQ(items.size(), before + 1);
    const SyncItem& recall = items.back();
    EXPECT_EQ(recall.event.type, EventType::kRecall);
    EXPECT_EQ(recall.event.conv_seq, first.seq);
    EXPECT_EQ(recall.event.actor, a_);
    ASSERT_TRUE(recall.message.has_value());
    EXPECT_TRUE(recall.message->recalled);
    EXPECT_TRUE(recall.message->body.empty());
    bool saw_original = false;
    for (const auto& item : items) {
      if (item.event.type == EventType::kMessage && item.event.conv_seq == first.seq) {
        saw_original = true;
        ASSERT_TRUE(item.message.has_value());
        EXPECT_TRUE(item.message->recalled);
        EXPECT_TRUE(item.message->body.empty());
      }
    }
    EXPECT_TRUE(saw_original);
  }

  // Recalling again is fine and changes nothing.
  Snapshot before = Snap();
  EXPECT_TRUE(core().messages().RecallSync(Id(a_), conv_, first.seq).ok());
  EXPECT_TRUE(Snap() == before);
  // Even for the peer, who could not have recalled it.
  EXPECT_TRUE(core().messages().RecallSync(Id(b_), conv_, first.seq).ok());
  EXPECT_TRUE(Snap() == before);
}

TEST_P(MessagingTest, RecallWindowAndModerators) {
  config_.recall_window_ms = 50;
  auto users = MakeUsers(5);
  const UserId owner = users[0], admin = users[1], m1 = users[2], m2 = users[3];
  auto g = core().conversations().CreateGroup(owner, "g", {admin, m1, m2});
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(core().conversations().SetRole(owner, g->id, admin, Role::kAdmin).ok());
  auto d = core().conversations().OpenDirect(m1, users[4]);
  ASSERT_TRUE(d.ok());

  SendAck x = Send(Id(m1), g->id, "x");
  SendAck y = Send(Id(m1), g->id, "y");
  SendAck z = Send(Id(m2), g->id, "z");
  SendAck w = Send(Id(owner), g->id, "w");
  SendAck dm = Send(Id(m1), d->id, "direct");
  WaitPast(std::max({x.server_ms, y.server_ms, z.server_ms, w.server_ms, dm.server_ms}), 50);

  std::vector<Seq> inboxes;
  for (UserId u : {owner, admin, m1, m2}) inboxes.push_back(LastUserSeq(u));
  // The window has closed for senders...
  EXPECT_EQ(core().messages().RecallSync(Id(m1), g->id, x.seq).code(), Code::kRecallWindowPassed);
  EXPECT_EQ(core().messages().RecallSync(Id(m1), d->id, dm.seq).code(), Code::kRecallWindowPassed);
  // ...plain members may not recall others' messages...
  EXPECT_EQ(core().messages().RecallSync(Id(m2), g->id, x.seq).code(), Code::kPermissionDenied);
  EXPECT_EQ(core().messages().RecallSync(Id(m1), g->id, w.seq).code(), Code::kPermissionDenied);
  for (Seq s : {x.seq, y.seq, w.seq}) EXPECT_FALSE(core().store().GetMessage(g->id, s)->recalled);
  // ...but the owner and admins may, at any time.
  ASSERT_TRUE(core().messages().RecallSync(Id(owner), g->id, x.seq).ok());
  ASSERT_TRUE(core().messages().RecallSync(Id(admin), g->id, y.seq).ok());
  ASSERT_TRUE(core().messages().RecallSync(Id(admin), g->id, w.seq).ok());
  EXPECT_EQ(core().store().GetMessage(g->id, x.seq)->recalled_by, owner);
  EXPECT_EQ(core().store().GetMessage(g->id, y.seq)->recalled_by, admin);
  EXPECT_FALSE(core().store().GetMessage(g->id, z.seq)->recalled);
  // Every member was told about each recall.
  int i = 0;
  for (UserId u : {owner, admin, m1, m2}) {
    auto inbox = Inbox(u);
    ASSERT_EQ(inbox.size(), inboxes[i++] + 3);
    EXPECT_EQ(inbox[inbox.size() - 3].type, EventType::kRecall);
    EXPECT_EQ(inbox[inbox.size() - 3].conv_seq, x.seq);
    EXPECT_EQ(inbox[inbox.size() - 3].actor, owner);
    EXPECT_EQ(inbox.back().conv_seq, w.seq);
  }
  // A demoted admin is a plain member again.
  ASSERT_TRUE(core().conversations().SetRole(owner, g->id, admin, Role::kMember).ok());
  EXPECT_EQ(core().messages().RecallSync(Id(admin), g->id, z.seq).code(), Code::kPermissionDenied);
}

TEST_P(MessagingTest, RecallWithinAFreshWindowSucceedsForTheSender) {
  config_.recall_window_ms = 60 * 1000;
  SetUpDirect();
  SendAck a = Send(Id(a_), conv_);
  EXPECT_TRUE(core().messages().RecallSync(Id(a_), conv_, a.seq).ok());
  // Concurrent sends and a recall interleave without disturbing the numbering.
  SendMany(Id(b_), conv_, 50);
  EXPECT_TRUE(core().messages().RecallSync(Id(b_), conv_, 10).ok());
  auto msgs = AllMessages(conv_);
  ASSERT_EQ(msgs.size(), 51u);
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].seq, i + 1);
    EXPECT_EQ(msgs[i].recalled, i == 0 || i == 9);
  }
}

TEST_P(MessagingTest, RacingRecallsOfOneMessageTellMembersOnce) {
  auto users = MakeUsers(3);
  auto g = core().conversations().CreateGroup(users[0], "g", {users[1], users[2]});
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(core().conversations().SetRole(users[0], g->id, users[1], Role::kAdmin).ok());
  std::vector<SendAck> acks = SendMany(Id(users[2]), g->id, 20);
  ASSERT_EQ(acks.size(), 20u);
  const Seq before = LastUserSeq(users[2]);
  const size_t changes_before = core().store().ScanChanges(0, SIZE_MAX)->size();
  // The sender and both moderators recall the same messages at once: each message is
  // recalled once, by whoever came first, and announced once.
  Results<bool> recalls(3 * acks.size());
  for (size_t i = 0; i < acks.size(); ++i) {
    core().messages().Recall(Id(users[2]), g->id, acks[i].seq, recalls.Slot(3 * i));
    core().messages().Recall(Id(users[1]), g->id, acks[i].seq, recalls.Slot(3 * i + 1));
    core().messages().Recall(Id(users[0]), g->id, acks[i].seq, recalls.Slot(3 * i + 2));
  }
  recalls.Wait();
  for (size_t i = 0; i < recalls.size(); ++i) {
    ASSERT_TRUE(recalls[i].ok()) << i << ": " << recalls[i].status().ToString();
    EXPECT_EQ(*recalls[i], i % 3 == 0) << "only the first recall changes anything";
  }
  const auto stored = AllMessages(g->id);
  ASSERT_EQ(stored.size(), acks.size());
  for (const auto& m : stored) {
    EXPECT_TRUE(m.recalled);
    EXPECT_EQ(m.recalled_by, users[2]);
  }
  EXPECT_EQ(LastUserSeq(users[2]), before + acks.size());
  EXPECT_EQ(core().store().ScanChanges(0, SIZE_MAX)->size(), changes_before + acks.size());
}

// A wall clock stepped back across a restart (docs/faults.md, "Clock steps"): the messages
// stored before it carry times an hour ahead of the clock the new process reads. New
// messages take the conversation's last time instead of going below it, so server_ms stays
// non-decreasing along conv_seq, history by time still finds the right place, and an edit
// is never dated before the message it changes.
TEST_P(MessagingTest, TimesNeverGoBelowTheConversationsLastMessageAfterAClockStepBack) {
  SetUpDirect();
  for (int i = 0; i < 3; ++i) Send(Id(i == 1 ? b_ : a_), conv_);
  Flush();
  // What a process whose clock ran an hour ahead would have stored for messages 2 and 3.
  const int64_t ahead = NowMillis() + 3'600'000;
  WriteSet rewrite;
  for (Seq s : {Seq{2}, Seq{3}}) {
    auto m = core().store().GetMessage(conv_, s);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    m->server_ms = ahead + static_cast<int64_t>(s);
    rewrite.Add(op::PutMessage{*m});
  }
  auto head = core().store().GetConvHead(conv_);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  head->last_ms = ahead + 3;
  rewrite.Add(op::PutConvHead{conv_, *head});
  ASSERT_TRUE(core().store().Apply(rewrite, Durability::kSync).ok());
  Reopen();  // a new process: no in-memory time of the old one survives

  SendAck one = Send(Id(b_), conv_);
  EXPECT_EQ(one.server_ms, ahead + 3) << "a new message takes the last message's time";
  std::vector<SendAck> more = SendMany(Id(a_), conv_, 5);
  for (const SendAck& ack : more) EXPECT_EQ(ack.server_ms, ahead + 3);
  const auto msgs = AllMessages(conv_);
  ASSERT_EQ(msgs.size(), 9u);
  for (size_t i = 1; i < msgs.size(); ++i) {
    EXPECT_GE(msgs[i].server_ms, msgs[i - 1].server_ms) << "seq " << msgs[i].seq;
  }
  EXPECT_EQ(core().store().GetConvHead(conv_)->last_ms, ahead + 3);

  // History by time: the first message at or after each time, over the step.
  for (const auto& [at, first] : std::vector<std::pair<int64_t, Seq>>{
           {msgs[0].server_ms, 1}, {NowMillis(), 2}, {ahead + 3, 3}, {ahead + 4, 10}}) {
    HistoryRequest req;
    req.conv_id = conv_;
    req.mode = HistoryRequest::Mode::kAroundTime;
    req.time_ms = at;
    req.limit = 2;
    auto page = core().timeline().History(Id(a_), req);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    if (first == 10) {  // after the last message: the page ends with it
      ASSERT_FALSE(page->messages.empty());
      EXPECT_EQ(page->messages.back().seq, 9u);
      EXPECT_FALSE(page->has_more_after);
      continue;
    }
    ASSERT_FALSE(page->messages.empty());
    const auto pivot = std::find_if(page->messages.begin(), page->messages.end(),
                                    [&](const MessageRecord& m) { return m.server_ms >= at; });
    ASSERT_NE(pivot, page->messages.end()) << "around_ts " << at;
    EXPECT_EQ(pivot->seq, first) << "around_ts " << at;
  }

  // An edit of message 3 (dated an hour ahead) is dated no earlier than it.
  auto edit = core().messages().EditSync(Id(a_), conv_, 3, "edited after the step");
  ASSERT_TRUE(edit.ok()) << edit.status().ToString();
  EXPECT_GE(edit->edited_ms, ahead + 3);
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(MessagingTest);

}  // namespace
}  // namespace parley
