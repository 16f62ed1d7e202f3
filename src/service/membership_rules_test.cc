// Membership rules of issue 10 at the service level: what former members keep (sync,
// history), direct conversations shown to the peer only with their first message, and
// blocks (send, edit, conv.open, group adds, persistence).
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Id;

class MembershipRulesTest : public test::OnEveryStore<test::CoreTest> {
 protected:
  ConversationService& convs() { return core().conversations(); }
  BlockService& blocks() { return core().blocks(); }

  bool Lists(UserId user, ConvId conv) {
    auto list = core().timeline().ListConversations(Id(user));
    EXPECT_TRUE(list.ok());
    if (!list.ok()) return false;
    return std::any_of(list->begin(), list->end(),
                       [&](const ConversationSummary& s) { return s.conv.id == conv; });
  }
};

TEST_P(MembershipRulesTest, RemovedMemberSyncKeepsOnlyTheirOwnJoinAndLeave) {
  auto u = MakeUsers(3);
  auto g = convs().CreateGroup(u[0], "g", {u[1], u[2]});
  ASSERT_TRUE(g.ok());
  Send(Id(u[0]), g->id, "secret one");
  Send(Id(u[2]), g->id, "secret two");
  ASSERT_TRUE(convs().RemoveMember(u[0], g->id, u[1]).ok());
  Send(Id(u[0]), g->id, "after");

  auto items = SyncAll(Id(u[1], "new-device"));
  ASSERT_EQ(items.size(), 4u);  // joined, 2 messages, left: user_seq 1..4 without a gap
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].event.user_seq, i + 1);
    EXPECT_FALSE(items[i].message.has_value()) << i;
  }
  EXPECT_EQ(items[0].event.type, EventType::kMemberJoined);
  EXPECT_EQ(items[1].event.type, EventType::kWithheld);
  EXPECT_EQ(items[1].event.conv_id, g->id);
  EXPECT_EQ(items[1].event.conv_seq, 0u);
  EXPECT_EQ(items[1].event.actor, 0u);
  EXPECT_EQ(items[2].event.type, EventType::kWithheld);
  EXPECT_EQ(items[3].event.type, EventType::kMemberLeft);
  EXPECT_EQ(items[3].event.subject, u[1]);

  HistoryRequest h;
  h.conv_id = g->id;
  EXPECT_EQ(core().timeline().History(Id(u[1]), h).status().code(), Code::kNotMember);

  // Re-added: a member again sees the whole conversation, in sync and history.
  ASSERT_TRUE(convs().AddMembers(u[0], g->id, {u[1]}).ok());
  auto again = SyncAll(Id(u[1], "third-device"));
  ASSERT_GE(again.size(), 5u);
  ASSERT_TRUE(again[1].message.has_value());
  EXPECT_EQ(again[1].message->body, "secret one");
  auto page = core().timeline().History(Id(u[1]), h);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), 3u);
}

TEST_P(MembershipRulesTest, LeaverIsTreatedLikeRemoved) {
  auto u = MakeUsers(2);
  auto g = convs().CreateGroup(u[0], "g", {u[1]});
  ASSERT_TRUE(g.ok());
  Send(Id(u[0]), g->id, "secret");
  ASSERT_TRUE(convs().Leave(u[1], g->id).ok());
  auto items = SyncAll(Id(u[1]));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].event.type, EventType::kWithheld);
  EXPECT_FALSE(items[1].message.has_value());
  EXPECT_EQ(items[2].event.type, EventType::kMemberLeft);
}

TEST_P(MembershipRulesTest, OpenedDirectIsHiddenFromPeerUntilFirstMessage) {
  auto u = MakeUsers(2);
  const UserId a = u[0], b = u[1];
  auto c = convs().OpenDirect(a, b);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(Lists(a, c->id));
  EXPECT_FALSE(Lists(b, c->id));
  EXPECT_TRUE(Inbox(b).empty());
  EXPECT_EQ(convs().Get(b, c->id).status().code(), Code::kNotMember);
  HistoryRequest h;
  h.conv_id = c->id;
  EXPECT_EQ(core().timeline().History(Id(b), h).status().code(), Code::kNotMember);
  auto audience = convs().Audience(a, c->id);
  ASSERT_TRUE(audience.ok());
  EXPECT_TRUE(audience->empty());  // no typing notices to b yet
  // Search scope follows the same rule: the conversation does not exist for b yet.
  EXPECT_EQ(convs().Scope(b, c->id).status().code(), Code::kNotMember);
  auto scope = convs().Scope(a, c->id);
  ASSERT_TRUE(scope.ok());
  EXPECT_EQ(*scope, std::vector<ConvId>{c->id});

  Send(Id(a), c->id, "hi");
  EXPECT_TRUE(Lists(b, c->id));
  auto inbox = Inbox(b);
  ASSERT_EQ(inbox.size(), 2u);
  EXPECT_EQ(inbox[0].type, EventType::kMemberJoined);
  EXPECT_EQ(inbox[0].subject, b);
  EXPECT_EQ(inbox[0].actor, a);
  EXPECT_EQ(inbox[1].type, EventType::kMessage);
  // Shown once: a second message adds no join event.
  Send(Id(a), c->id, "again");
  EXPECT_EQ(Inbox(b).size(), 3u);

  // Restart: the conversation record keeps the cleared flag.
  Reopen();
  EXPECT_TRUE(Lists(b, c->id));
}

TEST_P(MembershipRulesTest, PeerOpeningTooSeesItAtOnce) {
  auto u = MakeUsers(2);
  auto c = convs().OpenDirect(u[0], u[1]);
  ASSERT_TRUE(c.ok());
  auto same = convs().OpenDirect(u[1], u[0]);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, c->id);
  EXPECT_EQ(same->hidden_from, 0u);
  EXPECT_TRUE(Lists(u[1], c->id));
  EXPECT_EQ(Inbox(u[1]).size(), 1u);
}

TEST_P(MembershipRulesTest, BlockRefusesDirectMessagesOpensAndAdds) {
  auto u = MakeUsers(4);
  const UserId a = u[0], b = u[1];
  auto ab = convs().OpenDirect(b, a);
  ASSERT_TRUE(ab.ok());
  auto first = Send(Id(b), ab->id, "before");
  auto g = convs().CreateGroup(b, "g", {u[2]});
  ASSERT_TRUE(g.ok());

  ASSERT_TRUE(blocks().Block(a, b).ok());
  ASSERT_TRUE(blocks().Block(a, b).ok());  // idempotent
  EXPECT_EQ(TrySend(Id(b), ab->id, "blocked").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(core().messages().EditSync(Id(b), ab->id, first.seq, "x").status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(convs().AddMembers(b, g->id, {a, u[3]}).code(), Code::kPermissionDenied);
  EXPECT_FALSE(core().store().GetMember(g->id, u[3]).ok());  // nothing half done
  EXPECT_EQ(convs().CreateGroup(b, "g2", {a}).status().code(), Code::kPermissionDenied);
  // The blocker may still write.
  Send(Id(a), ab->id, "from the blocker");
  // A new direct conversation with the blocker is refused.
  auto other = MakeUsers(1);
  ASSERT_TRUE(blocks().Block(other[0], b).ok());
  EXPECT_EQ(convs().OpenDirect(b, other[0]).status().code(), Code::kPermissionDenied);
  EXPECT_FALSE(core().store().FindDirect(b, other[0]).ok());

  auto list = blocks().List(a);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].blocked, b);

  Reopen();  // blocks are durable
  EXPECT_EQ(TrySend(Id(b), ab->id, "still").status().code(), Code::kPermissionDenied);

  ASSERT_TRUE(blocks().Unblock(a, b).ok());
  ASSERT_TRUE(blocks().Unblock(a, b).ok());  // idempotent
  EXPECT_TRUE(TrySend(Id(b), ab->id, "again").ok());
  EXPECT_TRUE(convs().AddMembers(b, g->id, {a}).ok());
  EXPECT_TRUE(blocks().List(a)->empty());
}

TEST_P(MembershipRulesTest, BlockBadInput) {
  auto u = MakeUsers(1);
  EXPECT_EQ(blocks().Block(u[0], u[0]).code(), Code::kInvalidArgument);
  EXPECT_EQ(blocks().Block(u[0], 999999).code(), Code::kNotFound);
  EXPECT_EQ(blocks().Unblock(u[0], 999999).code(), Code::kNotFound);
  EXPECT_TRUE(blocks().List(u[0])->empty());
}

// A block staged in the same batch as a send queued behind it refuses that send: the
// check sees blocks that are not durable yet.
TEST_P(MembershipRulesTest, SendQueuedAfterBlockIsRefused) {
  auto u = MakeUsers(2);
  auto c = convs().OpenDirect(u[1], u[0]);
  ASSERT_TRUE(c.ok());
  core().sequencer().Submit(
      Sequencer::Task{[a = u[0], b = u[1]](CommitBatch& batch) {
                        batch.SetPendingBlock(a, b, true);
                        batch.writes().Add(op::PutBlock{BlockRecord{a, b, 1}});
                        return Status::Ok();
                      },
                      [](const Status&) {}});
  EXPECT_EQ(TrySend(Id(u[1]), c->id, "x").status().code(), Code::kPermissionDenied);
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(MembershipRulesTest);

}  // namespace
}  // namespace parley
