// ConversationService: direct conversations (also opened concurrently), groups, role rules,
// membership events, and both fan-out modes including a 5,000-member group.
#include "service/conversations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <set>
#include <thread>

#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Cat;
using test::Id;

class ConversationsTest : public test::OnEveryStore<test::CoreTest> {
 protected:
  ConversationService& convs() { return core().conversations(); }

  std::set<UserId> MemberIds(ConvId conv) {
    std::set<UserId> out;
    auto members = core().store().ListMembers(conv);
    EXPECT_TRUE(members.ok());
    for (const auto& m : *members) out.insert(m.user_id);
    return out;
  }
  Role RoleOf(ConvId conv, UserId user) {
    auto m = core().store().GetMember(conv, user);
    EXPECT_TRUE(m.ok()) << "user " << user;
    return m.ok() ? m->role : Role::kMember;
  }
  // The inbox events of `user` after user_seq `after`.
  std::vector<InboxEvent> EventsAfter(UserId user, Seq after) {
    auto r = core().store().ScanInbox(user, after, SIZE_MAX);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<InboxEvent>{};
  }
};

TEST_P(ConversationsTest, OpenDirectIsOneConversationBothWays) {
  auto users = MakeUsers(3);
  const UserId a = users[0], b = users[1];
  auto ab = convs().OpenDirect(a, b);
  ASSERT_TRUE(ab.ok()) << ab.status().ToString();
  EXPECT_EQ(ab->kind, ConvKind::kDirect);
  EXPECT_EQ(ab->member_count, 2u);
  auto ba = convs().OpenDirect(b, a);
  ASSERT_TRUE(ba.ok());
  EXPECT_EQ(ba->id, ab->id);
  EXPECT_EQ(*core().store().FindDirect(b, a), ab->id);
  EXPECT_EQ(MemberIds(ab->id), (std::set<UserId>{a, b}));
  EXPECT_EQ(RoleOf(ab->id, a), Role::kMember);
  // Each side was told once that it joined: b when b opened it too (before that it was
  // hidden from b).
  for (UserId u : {a, b}) {
    auto inbox = Inbox(u);
    ASSERT_EQ(inbox.size(), 1u);
    EXPECT_EQ(inbox[0].type, EventType::kMemberJoined);
    EXPECT_EQ(inbox[0].conv_id, ab->id);
    EXPECT_EQ(inbox[0].subject, u);
    EXPECT_EQ(inbox[0].actor, u);
  }
  auto got = convs().Get(b, ab->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->conv.id, ab->id);
  auto members = convs().Members(a, ab->id);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->size(), 2u);

  EXPECT_EQ(convs().OpenDirect(a, a).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(convs().OpenDirect(a, users[2] + 100).status().code(), Code::kNotFound);
  EXPECT_EQ(core().store().LoadCounters()->last_conv_id, ab->id);
  // Survives a restart.
  Reopen();
  auto again = convs().OpenDirect(b, a);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, ab->id);
}

TEST_P(ConversationsTest, ConcurrentOpenDirectCreatesOneConversation) {
  constexpr int kThreads = 8, kRounds = 6;
  auto users = MakeUsers(2 * kRounds);
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(Cat("round ", round));
    const UserId a = users[2 * round], b = users[2 * round + 1];
    const ConvId last_before = core().store().LoadCounters()->last_conv_id;
    std::vector<ConvId> ids(kThreads, 0);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        auto r = t % 2 ? convs().OpenDirect(a, b) : convs().OpenDirect(b, a);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        if (r.ok()) ids[t] = r->id;
      });
    }
    for (auto& th : threads) th.join();
    for (ConvId id : ids) EXPECT_EQ(id, ids[0]);
    EXPECT_EQ(core().store().LoadCounters()->last_conv_id, last_before + 1);
    EXPECT_EQ(*core().store().FindDirect(a, b), ids[0]);
    EXPECT_EQ(Inbox(a).size(), 1u);
    EXPECT_EQ(Inbox(b).size(), 1u);
    auto mine = core().store().ListUserConversations(a);
    ASSERT_TRUE(mine.ok());
    EXPECT_EQ(mine->size(), 1u);
  }
}

TEST_P(ConversationsTest, CreateGroupValidatesAndDeduplicates) {
  auto users = MakeUsers(4);
  const UserId owner = users[0];
  EXPECT_EQ(convs().CreateGroup(owner, "", {users[1]}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(convs().CreateGroup(owner, std::string(257, 't'), {users[1]}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(convs().CreateGroup(owner, "bad \xff", {users[1]}).status().code(), Code::kInvalidUtf8);
  EXPECT_EQ(convs().CreateGroup(owner, "ghost", {users[1], 9999}).status().code(), Code::kNotFound);
  EXPECT_EQ(core().store().LoadCounters()->last_conv_id, 0u);

  auto g = convs().CreateGroup(owner, "Team 🚀", {users[1], users[2], users[1], owner});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->kind, ConvKind::kGroup);
  EXPECT_EQ(g->title, "Team 🚀");
  EXPECT_EQ(g->owner, owner);
  EXPECT_EQ(g->member_count, 3u);
  EXPECT_FALSE(g->read_fanout);
  EXPECT_EQ(MemberIds(g->id), (std::set<UserId>{owner, users[1], users[2]}));
  EXPECT_EQ(RoleOf(g->id, owner), Role::kOwner);
  EXPECT_EQ(RoleOf(g->id, users[1]), Role::kMember);
  auto stored = core().store().GetConversation(g->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->title, g->title);
  EXPECT_EQ(stored->member_count, 3u);
  // A group of one is fine too.
  auto solo = convs().CreateGroup(users[3], "solo", {});
  ASSERT_TRUE(solo.ok());
  EXPECT_EQ(solo->member_count, 1u);

  config_.max_group_members = 3;
  Reopen();
  EXPECT_EQ(convs().CreateGroup(owner, "big", {users[1], users[2], users[3]}).status().code(),
            Code::kResourceExhausted);
  EXPECT_EQ(convs().AddMembers(owner, g->id, {users[3]}).code(), Code::kResourceExhausted);
  EXPECT_EQ(MemberIds(g->id).size(), 3u);
}

TEST_P(ConversationsTest, RoleRules) {
  auto users = MakeUsers(7);
  const UserId owner = users[0], admin = users[1], m1 = users[2], m2 = users[3], m3 = users[4],
               outsider = users[5], late = users[6];
  auto g = convs().CreateGroup(owner, "roles", {admin, m1, m2, m3});
  ASSERT_TRUE(g.ok());
  const ConvId id = g->id;

  // Only the owner assigns roles; the owner's own role is fixed.
  EXPECT_EQ(convs().SetRole(m1, id, m2, Role::kAdmin).code(), Code::kPermissionDenied);
  EXPECT_EQ(convs().SetRole(owner, id, admin, Role::kOwner).code(), Code::kInvalidArgument);
  EXPECT_EQ(convs().SetRole(owner, id, owner, Role::kMember).code(), Code::kPermissionDenied);
  EXPECT_EQ(convs().SetRole(owner, id, outsider, Role::kAdmin).code(), Code::kNotMember);
  EXPECT_EQ(convs().SetRole(outsider, id, m1, Role::kAdmin).code(), Code::kNotMember);
  ASSERT_TRUE(convs().SetRole(owner, id, admin, Role::kAdmin).ok());
  EXPECT_EQ(RoleOf(id, admin), Role::kAdmin);
  EXPECT_EQ(convs().SetRole(admin, id, m1, Role::kAdmin).code(), Code::kPermissionDenied);
  ASSERT_TRUE(convs().SetRole(owner, id, admin, Role::kAdmin).ok());  // no change: fine

  // Adding: owner and admins only; existing members are skipped.
  EXPECT_EQ(convs().AddMembers(m1, id, {late}).code(), Code::kPermissionDenied);
  EXPECT_EQ(convs().AddMembers(outsider, id, {late}).code(), Code::kNotMember);
  EXPECT_EQ(convs().AddMembers(admin, id, {9999}).code(), Code::kNotFound);
  ASSERT_TRUE(convs().AddMembers(admin, id, {late, m1, late}).ok());
  EXPECT_EQ(MemberIds(id).size(), 6u);
  EXPECT_EQ(core().store().GetConversation(id)->member_count, 6u);
  EXPECT_EQ(RoleOf(id, late), Role::kMember);

  // Removing: admins remove plain members; only the owner removes admins; nobody the owner.
  EXPECT_EQ(convs().RemoveMember(m1, id, m2).code(), Code::kPermissionDenied);
  EXPECT_EQ(convs().RemoveMember(admin, id, outsider).code(), Code::kNotMember);
  EXPECT_EQ(convs().RemoveMember(admin, id, owner).code(), Code::kPermissionDenied);
  ASSERT_TRUE(convs().SetRole(owner, id, m3, Role::kAdmin).ok());
  EXPECT_EQ(convs().RemoveMember(admin, id, m3).code(), Code::kPermissionDenied);
  ASSERT_TRUE(convs().RemoveMember(admin, id, late).ok());
  ASSERT_TRUE(convs().RemoveMember(owner, id, m3).ok());
  EXPECT_EQ(MemberIds(id), (std::set<UserId>{owner, admin, m1, m2}));
  EXPECT_EQ(core().store().GetConversation(id)->member_count, 4u);
  EXPECT_EQ(convs().Get(m3, id).status().code(), Code::kNotMember);
  // Removing oneself is leaving.
  ASSERT_TRUE(convs().RemoveMember(m2, id, m2).ok());
  EXPECT_EQ(MemberIds(id), (std::set<UserId>{owner, admin, m1}));

  // Renaming: owner and admins.
  EXPECT_EQ(convs().Rename(m1, id, "mine").code(), Code::kPermissionDenied);
  EXPECT_EQ(convs().Rename(admin, id, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(convs().Rename(admin, id, "\xC0\xAF").code(), Code::kInvalidUtf8);
  ASSERT_TRUE(convs().Rename(admin, id, "renamed").ok());
  EXPECT_EQ(core().store().GetConversation(id)->title, "renamed");
  EXPECT_EQ(convs().Get(m1, id)->conv.title, "renamed");
  // Get answers the asker's role with the conversation.
  EXPECT_EQ(convs().Get(owner, id)->role, Role::kOwner);
  EXPECT_EQ(convs().Get(admin, id)->role, Role::kAdmin);
  EXPECT_EQ(convs().Get(m1, id)->role, Role::kMember);
  // Search scope: the asker's conversations now; a removed member's scope loses it.
  auto scope = convs().Scope(m1, std::nullopt);
  ASSERT_TRUE(scope.ok());
  EXPECT_NE(std::find(scope->begin(), scope->end(), id), scope->end());
  auto removed = convs().Scope(m3, std::nullopt);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(std::find(removed->begin(), removed->end(), id), removed->end());
  EXPECT_EQ(convs().Scope(m3, id).status().code(), Code::kNotMember);

  // Direct conversations have fixed members.
  auto d = convs().OpenDirect(m1, m2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(convs().AddMembers(m1, d->id, {m3}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(convs().RemoveMember(m1, d->id, m2).code(), Code::kFailedPrecondition);
  EXPECT_EQ(convs().Leave(m1, d->id).code(), Code::kFailedPrecondition);
  EXPECT_EQ(convs().Rename(m1, d->id, "x").code(), Code::kFailedPrecondition);
  EXPECT_EQ(convs().SetRole(m1, d->id, m2, Role::kAdmin).code(), Code::kFailedPrecondition);
  EXPECT_EQ(MemberIds(d->id), (std::set<UserId>{m1, m2}));
  EXPECT_EQ(convs().Leave(outsider, id).code(), Code::kNotMember);
}

TEST_P(ConversationsTest, OwnerLeavingHandsOwnershipOver) {
  auto users = MakeUsers(5);
  const UserId owner = users[0];
  // Joined in this order: owner, then users[1..2] at creation, users[3], users[4] later.
  auto g = convs().CreateGroup(owner, "heirs", {users[1], users[2]});
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(convs().AddMembers(owner, g->id, {users[3]}).ok());
  ASSERT_TRUE(convs().AddMembers(owner, g->id, {users[4]}).ok());
  // The longest-serving admin wins over longer-serving members.
  ASSERT_TRUE(convs().SetRole(owner, g->id, users[4], Role::kAdmin).ok());
  ASSERT_TRUE(convs().SetRole(owner, g->id, users[3], Role::kAdmin).ok());
  const Seq before = LastUserSeq(users[1]);
  ASSERT_TRUE(convs().Leave(owner, g->id).ok());
  auto conv = core().store().GetConversation(g->id);
  ASSERT_TRUE(conv.ok());
  EXPECT_EQ(conv->owner, users[3]);
  EXPECT_EQ(conv->member_count, 4u);
  EXPECT_EQ(RoleOf(g->id, users[3]), Role::kOwner);
  EXPECT_EQ(RoleOf(g->id, users[4]), Role::kAdmin);
  auto events = EventsAfter(users[1], before);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, EventType::kMemberLeft);
  EXPECT_EQ(events[0].subject, owner);
  EXPECT_EQ(events[0].actor, owner);
  EXPECT_EQ(events[1].type, EventType::kConvUpdated);
  EXPECT_EQ(events[1].subject, users[3]);
  // The new owner has the owner's powers, the old one none.
  EXPECT_EQ(convs().Rename(owner, g->id, "x").code(), Code::kNotMember);
  ASSERT_TRUE(convs().SetRole(users[3], g->id, users[4], Role::kMember).ok());

  // With no admin left, the longest-serving member inherits.
  ASSERT_TRUE(convs().Leave(users[3], g->id).ok());
  EXPECT_EQ(core().store().GetConversation(g->id)->owner, users[1]);
  EXPECT_EQ(RoleOf(g->id, users[1]), Role::kOwner);
  // The last one out leaves an ownerless, empty group.
  ASSERT_TRUE(convs().Leave(users[1], g->id).ok());
  ASSERT_TRUE(convs().Leave(users[2], g->id).ok());
  ASSERT_TRUE(convs().Leave(users[4], g->id).ok());
  conv = core().store().GetConversation(g->id);
  ASSERT_TRUE(conv.ok());
  EXPECT_EQ(conv->owner, 0u);
  EXPECT_EQ(conv->member_count, 0u);
  EXPECT_TRUE(MemberIds(g->id).empty());
}

TEST_P(ConversationsTest, MembershipEventsReachTheMembers) {
  auto users = MakeUsers(4);
  const UserId owner = users[0], m1 = users[1], m2 = users[2], newcomer = users[3];
  auto g = convs().CreateGroup(owner, "events", {m1, m2});
  ASSERT_TRUE(g.ok());
  // Creation: each member's own join.
  for (UserId u : {owner, m1, m2}) {
    auto inbox = Inbox(u);
    ASSERT_EQ(inbox.size(), 1u);
    EXPECT_EQ(inbox[0].type, EventType::kMemberJoined);
    EXPECT_EQ(inbox[0].subject, u);
    EXPECT_EQ(inbox[0].actor, owner);
  }
  Send(Id(m1), g->id);
  std::vector<Seq> mark;
  for (UserId u : users) mark.push_back(LastUserSeq(u));

  ASSERT_TRUE(convs().AddMembers(owner, g->id, {newcomer}).ok());
  for (size_t i = 0; i < users.size(); ++i) {
    auto events = EventsAfter(users[i], mark[i]);
    ASSERT_EQ(events.size(), 1u) << "user " << users[i];
    EXPECT_EQ(events[0].type, EventType::kMemberJoined);
    EXPECT_EQ(events[0].subject, newcomer);
    EXPECT_EQ(events[0].actor, owner);
    EXPECT_EQ(events[0].conv_seq, 1u);  // the head when it happened
    mark[i] = events[0].user_seq;
  }
  // The newcomer sees the history from before they joined.
  HistoryRequest req;
  req.conv_id = g->id;
  auto page = core().timeline().History(Id(newcomer), req);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), 1u);

  ASSERT_TRUE(convs().Rename(owner, g->id, "new name").ok());
  ASSERT_TRUE(convs().SetRole(owner, g->id, m2, Role::kAdmin).ok());
  ASSERT_TRUE(convs().RemoveMember(m2, g->id, m1).ok());
  for (size_t i = 0; i < users.size(); ++i) {
    auto events = EventsAfter(users[i], mark[i]);
    ASSERT_EQ(events.size(), 3u) << "user " << users[i];
    EXPECT_EQ(events[0].type, EventType::kConvUpdated);
    EXPECT_EQ(events[0].subject, 0u);
    EXPECT_EQ(events[1].type, EventType::kConvUpdated);
    EXPECT_EQ(events[1].subject, m2);
    EXPECT_EQ(events[2].type, EventType::kMemberLeft);  // the removed member is told too
    EXPECT_EQ(events[2].subject, m1);
    EXPECT_EQ(events[2].actor, m2);
    mark[i] = events.back().user_seq;
  }
  // m1 hears nothing more.
  Send(Id(owner), g->id);
  EXPECT_TRUE(EventsAfter(m1, mark[1]).empty());
  EXPECT_EQ(EventsAfter(newcomer, mark[3]).size(), 1u);
}

TEST_P(ConversationsTest, GroupSwitchesToReadFanoutWhenItGrows) {
  config_.read_fanout_threshold = 5;
  auto users = MakeUsers(8);
  auto g = convs().CreateGroup(users[0], "growing", {users[1], users[2], users[3]});
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->read_fanout);
  Send(Id(users[1]), g->id);
  EXPECT_EQ(Inbox(users[2]).back().type, EventType::kMessage);

  ASSERT_TRUE(convs().AddMembers(users[0], g->id, {users[4], users[5], users[6]}).ok());
  auto conv = core().store().GetConversation(g->id);
  ASSERT_TRUE(conv.ok());
  EXPECT_TRUE(conv->read_fanout);
  EXPECT_EQ(conv->member_count, 7u);
  auto members = core().store().ListMembers(g->id);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 7u);
  for (const auto& m : *members) EXPECT_TRUE(m.read_fanout);
  auto memberships = core().store().ListUserConversations(users[2]);
  ASSERT_TRUE(memberships.ok());
  ASSERT_EQ(memberships->size(), 1u);
  EXPECT_TRUE(memberships->at(0).read_fanout);

  const Seq before = LastUserSeq(users[2]);
  Send(Id(users[1]), g->id);
  EXPECT_EQ(LastUserSeq(users[2]), before);  // no per-message event any more
  // Membership changes now reach only the affected user.
  ASSERT_TRUE(convs().AddMembers(users[0], g->id, {users[7]}).ok());
  EXPECT_EQ(LastUserSeq(users[2]), before);
  EXPECT_EQ(Inbox(users[7]).back().type, EventType::kMemberJoined);
  EXPECT_TRUE(core().store().GetMember(g->id, users[7])->read_fanout);
  // Shrinking does not switch back.
  ASSERT_TRUE(convs().RemoveMember(users[0], g->id, users[7]).ok());
  ASSERT_TRUE(convs().RemoveMember(users[0], g->id, users[6]).ok());
  ASSERT_TRUE(convs().RemoveMember(users[0], g->id, users[5]).ok());
  EXPECT_TRUE(core().store().GetConversation(g->id)->read_fanout);
  Send(Id(users[1]), g->id);
  EXPECT_EQ(LastUserSeq(users[2]), before);
}

TEST_P(ConversationsTest, FiveThousandMemberGroupUsesReadFanout) {
  constexpr int kMembers = 5000;
  auto users = MakeUsers(kMembers + 1);
  ASSERT_EQ(users.size(), static_cast<size_t>(kMembers + 1));
  const UserId owner = users[0], outsider = users[kMembers];
  auto g = convs().CreateGroup(owner, "everyone",
                               std::vector<UserId>(users.begin() + 1, users.end() - 1));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->read_fanout);
  EXPECT_EQ(g->member_count, static_cast<uint32_t>(kMembers));
  auto members = convs().Members(users[1234], g->id);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->size(), static_cast<size_t>(kMembers));

  const Identity reader = Id(users[4321]);
  SyncRequest req;
  auto r = core().timeline().Sync(reader, req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 1u);  // joined
  EXPECT_EQ(r->items[0].event.type, EventType::kMemberJoined);
  req.since = r->next;
  req.heads_since = r->heads_next;

  std::vector<SendAck> acks;
  for (int i = 0; i < 30; ++i) acks.push_back(Send(Id(users[1 + i * 97]), g->id));
  EXPECT_EQ(acks.back().seq, 30u);
  // No per-message inbox event for anyone, the senders included.
  for (UserId u : {owner, users[1], users[4321], users[4999]}) {
    EXPECT_EQ(LastUserSeq(u), 1u) << "user " << u;
  }
  r = core().timeline().Sync(reader, req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->items.empty());
  ASSERT_EQ(r->heads.size(), 1u);
  EXPECT_EQ(r->heads[0].conv_id, g->id);
  EXPECT_EQ(r->heads[0].last_seq, 30u);
  EXPECT_EQ(r->heads[0].last_ms, acks.back().server_ms);
  EXPECT_GE(r->heads_next, acks.back().msg_id);
  // Reported once: not again after passing heads_next...
  req.heads_since = r->heads_next;
  r = core().timeline().Sync(reader, req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->heads.empty());
  EXPECT_TRUE(r->items.empty());
  // ...until the head moves again.
  SendAck next = Send(Id(owner), g->id);
  r = core().timeline().Sync(reader, req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->heads.size(), 1u);
  EXPECT_EQ(r->heads[0].last_seq, next.seq);

  // The device pulls the messages through history.
  HistoryRequest hreq;
  hreq.conv_id = g->id;
  hreq.mode = HistoryRequest::Mode::kAfter;
  hreq.limit = 100;
  auto page = core().timeline().History(reader, hreq);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 31u);
  for (size_t i = 0; i < page->messages.size(); ++i) {
    EXPECT_EQ(page->messages[i].seq, i + 1);
    EXPECT_EQ(page->messages[i].msg_id, i < acks.size() ? acks[i].msg_id : next.msg_id);
  }
  EXPECT_EQ(core().timeline().History(Id(outsider), hreq).status().code(), Code::kNotMember);

  // Read cursors and the conversation list work as usual.
  ASSERT_TRUE(core().messages().MarkReadSync(reader, g->id, 10).ok());
  auto list = core().timeline().ListConversations(reader);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].unread, 21u);
  // Recalls still reach every member's inbox.
  ASSERT_TRUE(core().messages().RecallSync(Id(owner), g->id, 5).ok());
  EXPECT_EQ(Inbox(users[4999]).back().type, EventType::kRecall);
  EXPECT_EQ(Inbox(users[4999]).back().conv_seq, 5u);
  // A newcomer is told alone.
  const Seq owner_before = LastUserSeq(owner);
  ASSERT_TRUE(convs().AddMembers(owner, g->id, {outsider}).ok());
  EXPECT_EQ(LastUserSeq(owner), owner_before);
  EXPECT_EQ(Inbox(outsider).back().type, EventType::kMemberJoined);
  EXPECT_EQ(core().store().GetConversation(g->id)->member_count,
            static_cast<uint32_t>(kMembers + 1));
}

TEST_P(ConversationsTest, WriteFanoutGroupOfFiftyDeliversEveryMessageOnceInOrder) {
  constexpr int kMembers = 50, kSenders = 5, kPerSender = 40;
  auto users = MakeUsers(kMembers);
  auto g =
      convs().CreateGroup(users[0], "fifty", std::vector<UserId>(users.begin() + 1, users.end()));
  ASSERT_TRUE(g.ok());
  ASSERT_FALSE(g->read_fanout);
  std::latch start(kSenders);
  std::vector<std::thread> threads;
  for (int t = 0; t < kSenders; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerSender; ++i) Send(Id(users[t * 10]), g->id, Cat(t, "/", i));
    });
  }
  for (auto& th : threads) th.join();
  const Seq total = kSenders * kPerSender;
  ASSERT_EQ(Head(g->id), total);

  for (UserId u : users) {
    auto items = SyncAll(Id(u), 0, 64);
    std::vector<Seq> seqs;
    for (const auto& item : items) {
      if (item.event.type != EventType::kMessage) continue;
      ASSERT_EQ(item.event.conv_id, g->id);
      ASSERT_TRUE(item.message.has_value());
      EXPECT_EQ(item.message->seq, item.event.conv_seq);
      EXPECT_EQ(item.message->msg_id, item.event.gseq);
      seqs.push_back(item.event.conv_seq);
    }
    ASSERT_EQ(seqs.size(), total) << "user " << u;
    for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1) << "user " << u;
  }
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(ConversationsTest);

}  // namespace
}  // namespace parley
