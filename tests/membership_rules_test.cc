// Membership rules over the wire (issue 10, items 16 and 17): a removed member keeps
// nothing of a conversation but their own join and departure (sync, history, search and
// pushes alike); a direct conversation appears for the peer only with its first message;
// a user can block another from direct messages, new direct conversations and group adds.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "tests/support/gateway_fixture.h"

namespace parley {
namespace {

using MembershipRulesTest = testing::GatewayFixture;
using client::UserArg;
using namespace std::chrono_literals;

// Every sync event of the device from user_seq 0, all pages.
std::vector<SyncItem> SyncAll(client::BlockingClient& c) {
  std::vector<SyncItem> out;
  Seq since = 0;
  for (int page = 0; page < 100; ++page) {
    auto r = c.Sync(since, 50);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    out.insert(out.end(), r->items.begin(), r->items.end());
    since = r->next;
    if (!r->has_more) break;
  }
  return out;
}

client::SearchArgs Q(std::string q, std::optional<ConvId> conv = std::nullopt) {
  client::SearchArgs a;
  a.q = std::move(q);
  a.conv = conv;
  return a;
}

std::vector<SyncItem> OfConv(const std::vector<SyncItem>& items, ConvId conv) {
  std::vector<SyncItem> out;
  for (const auto& i : items) {
    if (i.event.conv_id == conv) out.push_back(i);
  }
  return out;
}

bool Lists(client::BlockingClient& c, ConvId conv) {
  auto convs = c.Convs();
  EXPECT_TRUE(convs.ok()) << convs.status().ToString();
  if (!convs.ok()) return false;
  return std::any_of(convs->begin(), convs->end(),
                     [&](const ConversationSummary& s) { return s.conv.id == conv; });
}

// Event pushes to `c` until one of conversation `until_conv` carrying a message arrives
// (bounded by `deadline`); returns all of them in order.
std::vector<SyncItem> EventPushesUntil(client::BlockingClient& c, ConvId until_conv,
                                       std::chrono::milliseconds deadline = 20s) {
  std::vector<SyncItem> out;
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    auto p = c.NextPush(100ms);
    if (!p || p->kind != Push::Kind::kEvent) continue;
    out.push_back(p->item);
    if (p->item.event.conv_id == until_conv && p->item.event.type == EventType::kMessage) break;
  }
  return out;
}

TEST_F(MembershipRulesTest, RemovedMemberKeepsNothingButTheRemovedEvent) {
  auto alice = Device("alice", "a1");
  auto carol = Device("carol", "c1");
  LoginReply bob_login;
  auto bob = Device("bob", "b1", &bob_login);
  auto group = alice->CreateGroup("team", {UserArg("bob"), UserArg("carol")});
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  ASSERT_TRUE(alice->Send(group->id, "secret swordfish one").ok());
  ASSERT_TRUE(carol->Send(group->id, "secret swordfish two").ok());
  // Indexed before the removal, so an empty search afterwards means refused, not late.
  for (int i = 0; i < 70; ++i) {
    auto r = alice->Search(Q("swordfish"));
    if (r.ok() && r->hits.size() == 2) break;
    std::this_thread::sleep_for(150ms);
  }
  // Bob's live device saw both messages; drain its pushes up to the second.
  ASSERT_EQ(MessagePushes(*bob, 2).size(), 2u);

  ASSERT_TRUE(alice->RemoveMember(group->id, UserArg("bob")).ok());
  ASSERT_TRUE(alice->Send(group->id, "after the removal").ok());
  ASSERT_TRUE(alice->Rename(group->id, "team without bob").ok());
  // A sentinel in another conversation, sent last: once bob has its push, every push of
  // the group that could come has come (pushes follow commit order).
  auto dm = carol->OpenDirect(UserArg("bob"));
  ASSERT_TRUE(dm.ok());
  ASSERT_TRUE(carol->Send(dm->id, "sentinel").ok());
  auto pushes = EventPushesUntil(*bob, dm->id);
  ASSERT_FALSE(pushes.empty());
  ASSERT_EQ(pushes.back().event.conv_id, dm->id) << "the sentinel push never came";
  for (const auto& p : pushes) {
    if (p.event.conv_id != group->id) continue;
    EXPECT_EQ(p.event.type, EventType::kMemberLeft) << "a push of the group after the removal";
    EXPECT_FALSE(p.message.has_value());
  }

  // A new device of bob, syncing from 0: no body of the group, no gap in user_seq.
  auto fresh = Device("bob", "b2");
  auto items = SyncAll(*fresh);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].event.user_seq, i + 1) << "gap in the sync timeline";
  }
  auto in_group = OfConv(items, group->id);
  ASSERT_EQ(in_group.size(), 4u);  // joined, 2 withheld, left
  EXPECT_EQ(in_group[0].event.type, EventType::kMemberJoined);
  EXPECT_EQ(in_group[1].event.type, EventType::kWithheld);
  EXPECT_EQ(in_group[2].event.type, EventType::kWithheld);
  EXPECT_EQ(in_group[3].event.type, EventType::kMemberLeft);
  for (const auto& i : in_group) {
    EXPECT_FALSE(i.message.has_value()) << "a body reached a removed member";
  }
  EXPECT_EQ(fresh->History(group->id).status().code(), Code::kNotMember);
  auto found = fresh->Search(Q("swordfish"));
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->hits.empty());
  EXPECT_EQ(fresh->Search(Q("swordfish", group->id)).status().code(), Code::kNotMember);
  EXPECT_FALSE(Lists(*fresh, group->id));

  // Re-added: a member again, bob sees the whole conversation.
  ASSERT_TRUE(alice->AddMembers(group->id, {UserArg("bob")}).ok());
  auto page = fresh->History(group->id);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->messages.size(), 3u);
}

TEST_F(MembershipRulesTest, ConvOpenAloneShowsNothingToThePeer) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto dm = alice->OpenDirect(UserArg("bob"));
  ASSERT_TRUE(dm.ok()) << dm.status().ToString();
  EXPECT_TRUE(Lists(*alice, dm->id));  // the opener sees it at once
  EXPECT_FALSE(Lists(*bob, dm->id));
  EXPECT_TRUE(OfConv(SyncAll(*bob), dm->id).empty());
  EXPECT_EQ(bob->ConvGet(dm->id).status().code(), Code::kNotMember);
  EXPECT_EQ(bob->History(dm->id).status().code(), Code::kNotMember);
  ASSERT_TRUE(alice->Typing(dm->id).ok());  // must not reach bob

  auto sent = alice->Send(dm->id, "hello bob");
  ASSERT_TRUE(sent.ok());
  // Live: bob's device is told it joined, then gets the message.
  auto pushes = EventPushesUntil(*bob, dm->id);
  ASSERT_GE(pushes.size(), 2u);
  EXPECT_EQ(pushes[pushes.size() - 2].event.type, EventType::kMemberJoined);
  ASSERT_TRUE(pushes.back().message.has_value());
  EXPECT_EQ(pushes.back().message->body, "hello bob");
  EXPECT_TRUE(Lists(*bob, dm->id));
  auto items = OfConv(SyncAll(*bob), dm->id);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].event.type, EventType::kMemberJoined);
  ASSERT_TRUE(items[1].message.has_value());
  EXPECT_EQ(items[1].message->body, "hello bob");
  auto page = bob->History(dm->id);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->messages.size(), 1u);
}

TEST_F(MembershipRulesTest, BlockedUserCannotMessageOpenOrAddUntilUnblocked) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto carol = Device("carol", "c1");
  auto dm = bob->OpenDirect(UserArg("alice"));
  ASSERT_TRUE(dm.ok());
  ASSERT_TRUE(bob->Send(dm->id, "hi alice").ok());
  auto group = bob->CreateGroup("bob's", {UserArg("carol")});
  ASSERT_TRUE(group.ok());

  ASSERT_TRUE(alice->Block(UserArg("bob")).ok());
  ASSERT_TRUE(carol->Block(UserArg("bob")).ok());
  ASSERT_TRUE(carol->Block(UserArg("bob")).ok());  // idempotent
  EXPECT_EQ(bob->Send(dm->id, "are you there?").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(bob->SendTo(UserArg("alice"), "by name").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(bob->CreateGroup("g", {UserArg("alice")}).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(bob->AddMembers(group->id, {UserArg("alice")}).code(), Code::kPermissionDenied);
  // A new direct conversation with a blocker is refused and nothing is created.
  EXPECT_EQ(bob->OpenDirect(UserArg("carol")).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(bob->SendTo(UserArg("carol"), "hello?").status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(OfConv(SyncAll(*carol), group->id).size() > 0);  // the old group is unaffected
  ASSERT_TRUE(bob->Send(group->id, "groups still work").ok());
  // The blocker still writes.
  ASSERT_TRUE(alice->Send(dm->id, "from alice").ok());

  auto list = alice->CallRaw("blocks", [](JsonWriter&) {});
  ASSERT_TRUE(list.ok());
  EXPECT_NE(list->find("\"name\":\"bob\""), std::string::npos) << *list;

  // Bad input gets clean errors with the request id, and the connection keeps working.
  EXPECT_EQ(alice->Block(UserArg("alice")).code(), Code::kInvalidArgument);
  EXPECT_EQ(alice->Block(UserArg("nobody-here")).code(), Code::kNotFound);
  EXPECT_EQ(alice->CallRaw("block", [](JsonWriter&) {}).status().code(), Code::kBadRequest);
  EXPECT_EQ(
      alice->CallRaw("unblock", [](JsonWriter& w) { w.Key("user").Bool(true); }).status().code(),
      Code::kBadRequest);
  ASSERT_TRUE(alice->Ping().ok());

  ASSERT_TRUE(alice->Unblock(UserArg("bob")).ok());
  ASSERT_TRUE(carol->Unblock(UserArg("bob")).ok());
  EXPECT_TRUE(bob->Send(dm->id, "thanks").ok());
  EXPECT_TRUE(bob->AddMembers(group->id, {UserArg("alice")}).ok());
  EXPECT_TRUE(bob->OpenDirect(UserArg("carol")).ok());
  auto empty = alice->CallRaw("blocks", [](JsonWriter&) {});
  ASSERT_TRUE(empty.ok());
  EXPECT_NE(empty->find("\"blocks\":[]"), std::string::npos) << *empty;
}

TEST_F(MembershipRulesTest, BlocksSurviveARestart) {
  {
    auto alice = Device("alice", "a1");
    auto bob = Device("bob", "b1");
    ASSERT_TRUE(bob->OpenDirect(UserArg("alice")).ok());
    ASSERT_TRUE(alice->Block(UserArg("bob")).ok());
  }
  auto stopped = server_->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  ASSERT_TRUE(server_->Restart().ok());
  auto bob = Device("bob", "b2");
  EXPECT_EQ(bob->SendTo(UserArg("alice"), "after restart").status().code(),
            Code::kPermissionDenied);
  auto alice = Device("alice", "a2");
  auto list = alice->CallRaw("blocks", [](JsonWriter&) {});
  ASSERT_TRUE(list.ok());
  EXPECT_NE(list->find("\"name\":\"bob\""), std::string::npos) << *list;
}

}  // namespace
}  // namespace parley
