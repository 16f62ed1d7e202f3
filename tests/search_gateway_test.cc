// Search over the wire: a real parleyd indexes what clients send, and `search` answers
// only from the asker's conversations, seconds (in practice milliseconds) after a send.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "common/clock.h"
#include "protocol/json_writer.h"
#include "tests/support/gateway_fixture.h"

namespace parley {
namespace {

using SearchTest = testing::GatewayFixture;
using client::SearchArgs;
using namespace std::chrono_literals;

SearchArgs Q(std::string q) {
  SearchArgs a;
  a.q = std::move(q);
  return a;
}

// Searches until `want` hits come back or 10 s pass (indexing is asynchronous). Polls
// below the per-connection search rate limit (10/s).
std::vector<SearchHit> SearchUntil(client::BlockingClient& c, const SearchArgs& args, size_t want) {
  std::vector<SearchHit> hits;
  for (int i = 0; i < 70; ++i) {
    auto r = c.Search(args);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) hits = r->hits;
    if (hits.size() == want) break;
    std::this_thread::sleep_for(150ms);
  }
  return hits;
}

TEST_F(SearchTest, FindsChineseEnglishAndMixedTextWithinMoments) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto group = alice->CreateGroup("team", {client::UserArg("bob")});
  ASSERT_TRUE(group.ok());
  auto sent = alice->Send(group->id, "我们明天下午讨论一下备份恢复的方案");
  ASSERT_TRUE(sent.ok());
  ASSERT_TRUE(alice->Send(group->id, "History roaming works: 漫游 to every new device").ok());
  ASSERT_TRUE(alice->Send(group->id, "The servers are running the 2.3 release").ok());

  auto hits = SearchUntil(*bob, Q("备份恢复"), 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].conv, group->id);
  EXPECT_EQ(hits[0].seq, sent->seq);
  EXPECT_EQ(hits[0].msg_id, sent->msg_id);
  EXPECT_EQ(hits[0].snippet, "我们明天下午讨论一下备份恢复的方案");
  ASSERT_EQ(hits[0].highlights.size(), 1u);
  EXPECT_EQ(hits[0].highlights[0], std::make_pair(10u, 4u));
  EXPECT_EQ(SearchUntil(*bob, Q("漫游"), 1).size(), 1u);
  EXPECT_EQ(SearchUntil(*bob, Q("run server"), 1).size(), 1u);  // stemmed, any order
  EXPECT_EQ(SearchUntil(*bob, Q("\"running the\" 2"), 1).size(), 1u);
  EXPECT_EQ(SearchUntil(*bob, Q("roaming 漫游"), 1).size(), 1u);
}

TEST_F(SearchTest, NobodyFindsMessagesOfConversationsTheyAreNotIn) {
  auto alice = Device("alice", "a1");
  auto carol = Device("carol", "c1");
  auto bob = Device("bob", "b1");
  auto group = alice->CreateGroup("secret", {client::UserArg("bob")});
  ASSERT_TRUE(group.ok());
  ASSERT_TRUE(alice->Send(group->id, "the launch code is swordfish").ok());
  ASSERT_EQ(SearchUntil(*bob, Q("swordfish"), 1).size(), 1u);  // indexed by now

  auto theirs = carol->Search(Q("swordfish"));
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE(theirs->hits.empty());
  SearchArgs scoped = Q("swordfish");
  scoped.conv = group->id;
  EXPECT_EQ(carol->Search(scoped).status().code(), Code::kNotMember);

  // Removed from the group: bob stops finding its messages at once.
  ASSERT_TRUE(alice->RemoveMember(group->id, client::UserArg("bob")).ok());
  auto after = bob->Search(Q("swordfish"));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->hits.empty());
  EXPECT_EQ(bob->Search(scoped).status().code(), Code::kNotMember);
}

TEST_F(SearchTest, FiltersAndPagingWithoutDuplicates) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto group = alice->CreateGroup("team", {client::UserArg("bob")});
  auto other = alice->CreateGroup("other", {client::UserArg("bob")});
  ASSERT_TRUE(group.ok() && other.ok());
  for (int i = 0; i < 25; ++i) {
    auto& who = i % 2 ? *alice : *bob;
    ASSERT_TRUE(who.Send(i < 20 ? group->id : other->id, "deploy step " + std::to_string(i)).ok());
  }
  ASSERT_EQ(SearchUntil(*bob, Q("deploy"), 20).size(), 20u);  // the default page
  SearchArgs in_group = Q("deploy");
  in_group.conv = group->id;
  in_group.limit = 100;
  EXPECT_EQ(bob->Search(in_group)->hits.size(), 20u);
  SearchArgs from_alice = in_group;
  from_alice.from = client::UserArg("alice");
  EXPECT_EQ(bob->Search(from_alice)->hits.size(), 10u);
  SearchArgs future = Q("deploy");
  future.since_ms = NowMillis() + 3'600'000;
  EXPECT_TRUE(bob->Search(future)->hits.empty());
  SearchArgs past = Q("deploy");
  past.until_ms = 1;
  EXPECT_TRUE(bob->Search(past)->hits.empty());

  for (bool relevance : {false, true}) {
    SearchArgs page = Q("deploy");
    page.limit = 7;
    page.by_relevance = relevance;
    std::set<uint64_t> seen;
    for (int i = 0; i < 10; ++i) {
      auto r = bob->Search(page);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (const auto& h : r->hits) EXPECT_TRUE(seen.insert(h.msg_id).second);
      if (r->next.empty()) break;
      page.cursor = r->next;
    }
    EXPECT_EQ(seen.size(), 25u) << (relevance ? "relevance" : "time");
  }
}

TEST_F(SearchTest, RecalledMessagesVanishAndEditedOnesAreFoundByTheirNewText) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto group = alice->CreateGroup("team", {client::UserArg("bob")});
  ASSERT_TRUE(group.ok());
  auto oops = alice->Send(group->id, "the password is hunter2");
  auto typo = alice->Send(group->id, "meet at the bakery");
  ASSERT_TRUE(oops.ok() && typo.ok());
  ASSERT_EQ(SearchUntil(*bob, Q("hunter2"), 1).size(), 1u);
  ASSERT_TRUE(alice->Recall(group->id, oops->seq).ok());
  EXPECT_TRUE(SearchUntil(*bob, Q("hunter2"), 0).empty());

  ASSERT_EQ(SearchUntil(*bob, Q("bakery"), 1).size(), 1u);
  ASSERT_TRUE(alice->Edit(group->id, typo->seq, "meet at the library").ok());
  EXPECT_EQ(SearchUntil(*bob, Q("library"), 1).size(), 1u);
  EXPECT_TRUE(SearchUntil(*bob, Q("bakery"), 0).empty());
}

TEST_F(SearchTest, BadRequestsGetStableErrorsAndTheConnectionStays) {
  auto alice = Device("alice", "a1");
  auto raw = [&](const std::function<void(JsonWriter&)>& fields) {
    return alice->CallRaw("search", fields).status().code();
  };
  EXPECT_EQ(raw([](JsonWriter&) {}), Code::kBadRequest);  // no q
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").Int(5); }), Code::kBadRequest);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("🎉 !!"); }), Code::kInvalidArgument);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String(std::string(600, 'a')); }), Code::kTooLarge);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("x").Key("order").String("best"); }),
            Code::kInvalidArgument);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("x").Key("limit").Uint(0); }),
            Code::kInvalidArgument);
  // Above the maximum: clamped, like sync and history (docs/protocol.md §1).
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("x").Key("limit").Uint(1000); }), Code::kOk);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("x").Key("cursor").String("zz"); }),
            Code::kInvalidArgument);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("x").Key("since").Int(-1); }),
            Code::kInvalidArgument);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("x").Key("from").String("nobody"); }),
            Code::kNotFound);
  EXPECT_EQ(raw([](JsonWriter& w) { w.Key("q").String("x").Key("conv").Uint(999); }),
            Code::kNotMember);
  EXPECT_TRUE(alice->Ping().ok());

  auto anonymous = Connect();
  EXPECT_EQ(anonymous->Search(Q("x")).status().code(), Code::kUnauthenticated);
}

TEST_F(SearchTest, TheIndexIsRebuiltWhenMissingAndResumesAfterAKill) {
  auto alice = Device("alice", "a1");
  auto group = alice->CreateGroup("solo", {});
  ASSERT_TRUE(group.ok());
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(alice->Send(group->id, "entry " + std::to_string(i)).ok());
  ASSERT_EQ(SearchUntil(*alice, Q("entry"), 20).size(), 20u);
  alice.reset();

  // Killed, then the index deleted: the restarted server rebuilds it from the store.
  server_->Kill();
  std::filesystem::remove_all(server_->data_dir() + "/search");
  ASSERT_TRUE(server_->Restart().ok());
  alice = Device("alice", "a2");
  SearchArgs all = Q("entry");
  all.limit = 100;
  auto hits = SearchUntil(*alice, all, 50);
  EXPECT_EQ(hits.size(), 50u);
  std::set<uint64_t> ids;
  for (const auto& h : hits) ids.insert(h.msg_id);
  EXPECT_EQ(ids.size(), 50u);
}

}  // namespace
}  // namespace parley
