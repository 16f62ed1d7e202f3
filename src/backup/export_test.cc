// Logical export and import (export.h) over real RocksStores driven by the real services:
// a populated store is exported, imported into a fresh empty store, compared record by
// record, and then used by a Core as if it had always been there.
#include "backup/export.h"
#include "backup/export_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "store/rocks_store.h"
#include "tests/support/core_test.h"

namespace parley::backup {
namespace {

using test::Cat;
using test::Id;

constexpr char kAlicePassword[] = "correct horse battery";

// Every stored record the export is about, as text, grouped so that scoped imports can be
// compared with the part of the source they hold.
struct StoreDump {
  std::map<UserId, std::string> users;
  // Per conversation: its record, head, members, the members' read cursors, its messages.
  std::map<ConvId, std::vector<std::string>> convs;
  Counters counters;
};

std::string Text(const UserRecord& u) {
  return Cat("user ", u.id, " name=", u.name, " hash=", u.password_hash, " created=", u.created_ms);
}

std::string Text(const MessageRecord& m) {
  return Cat("message ", m.conv_id, "/", m.seq, " id=", m.msg_id, " sender=", m.sender,
             " device=", m.sender_device, " client=", m.client_msg_id,
             " kind=", static_cast<int>(m.kind), " body=", m.body, " ms=", m.server_ms,
             " recalled=", m.recalled, " by=", m.recalled_by, " at=", m.recalled_ms,
             " edited=", m.edited_ms);
}

StoreDump Dump(Store& store) {
  StoreDump d;
  auto counters = store.LoadCounters();
  EXPECT_TRUE(counters.ok());
  if (!counters.ok()) return d;
  d.counters = *counters;
  for (UserId id = 1; id <= d.counters.last_user_id; ++id) {
    auto u = store.GetUser(id);
    if (u.ok()) d.users[id] = Text(*u);
  }
  for (ConvId id = 1; id <= d.counters.last_conv_id; ++id) {
    auto c = store.GetConversation(id);
    if (!c.ok()) continue;
    auto& out = d.convs[id];
    out.push_back(Cat("conv ", c->id, " kind=", static_cast<int>(c->kind), " title=", c->title,
                      " owner=", c->owner, " created=", c->created_ms, " members=", c->member_count,
                      " read_fanout=", c->read_fanout, " hidden_from=", c->hidden_from));
    auto head = store.GetConvHead(id);
    EXPECT_TRUE(head.ok());
    out.push_back(
        Cat("head seq=", head->last_seq, " ms=", head->last_ms, " gseq=", head->last_gseq));
    auto members = store.ListMembers(id);
    EXPECT_TRUE(members.ok());
    for (const auto& m : *members) {
      out.push_back(Cat("member ", m.user_id, " role=", static_cast<int>(m.role),
                        " joined=", m.joined_ms, " read_fanout=", m.read_fanout));
      auto by_user = store.GetMember(id, m.user_id);  // the other direction of the index
      EXPECT_TRUE(by_user.ok() && by_user->role == m.role);
      out.push_back(Cat("read ", m.user_id, " ", *store.GetReadCursor(m.user_id, id)));
    }
    auto messages = store.ScanMessages(id, 1, true, SIZE_MAX);
    EXPECT_TRUE(messages.ok());
    for (const auto& m : *messages) out.push_back(Text(m));
  }
  return d;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// `text` without the integer field `key` (`,"key":N`) wherever it occurs.
std::string WithoutField(std::string text, const std::string& key) {
  const std::string field = ",\"" + key + "\":";
  for (size_t at = text.find(field); at != std::string::npos; at = text.find(field, at)) {
    const size_t end = text.find_first_not_of("0123456789", at + field.size());
    text.erase(at, end - at);
  }
  return text;
}

// Index (0-based) of the first line containing every one of `parts`; -1 if none.
int FindLine(const std::vector<std::string>& lines, std::initializer_list<std::string> parts) {
  for (size_t i = 0; i < lines.size(); ++i) {
    bool all = true;
    for (const auto& p : parts) all = all && lines[i].find(p) != std::string::npos;
    if (all) return static_cast<int>(i);
  }
  return -1;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << s;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// A fresh, empty RocksStore in its own temporary directory.
struct Target {
  Target() {
    auto opened = OpenRocksStore(dir.path());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) store = std::move(opened).value();
  }
  test::TempDir dir;
  std::unique_ptr<Store> store;
};

Status ImportText(Store& store, const std::string& text, ImportStats* stats = nullptr) {
  std::istringstream in(text);
  return Import(store, in, stats);
}

void ExpectEmpty(Store& store) {
  auto c = store.LoadCounters();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->last_user_id, 0u);
  EXPECT_EQ(c->last_conv_id, 0u);
  EXPECT_EQ(c->last_gseq, 0u);
  EXPECT_TRUE(store.ScanChanges(0, 1)->empty());
  for (uint64_t id = 1; id <= 8; ++id) {
    EXPECT_EQ(store.GetUser(id).status().code(), Code::kNotFound) << id;
    EXPECT_EQ(store.GetConversation(id).status().code(), Code::kNotFound) << id;
    EXPECT_TRUE(store.ScanInbox(id, 0, 1)->empty()) << id;
  }
  EXPECT_EQ(store.FindUserByName("alice").status().code(), Code::kNotFound);
  EXPECT_EQ(store.GetMessage(1, 1).status().code(), Code::kNotFound);
}

// Every sync item of `who`, from user_seq 0, in pages of 7.
std::vector<SyncItem> SyncFromZero(Core& core, const Identity& who) {
  std::vector<SyncItem> out;
  Seq since = 0;
  for (int page = 0; page < 1000; ++page) {
    SyncRequest req;
    req.since = since;
    req.limit = 7;
    auto r = core.timeline().Sync(who, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    EXPECT_FALSE(r->reset);
    for (auto& item : r->items) out.push_back(std::move(item));
    if (!r->has_more) break;
    since = r->next;
  }
  return out;
}

// The seqs of the messages of `conv` that `user`'s inbox gets from an import: those sent at
// or after the millisecond the user joined.
std::vector<Seq> SinceJoin(Store& store, UserId user, ConvId conv) {
  std::vector<Seq> out;
  auto member = store.GetMember(conv, user);
  EXPECT_TRUE(member.ok());
  if (!member.ok()) return out;
  auto messages = store.ScanMessages(conv, 1, true, SIZE_MAX);
  EXPECT_TRUE(messages.ok());
  if (!messages.ok()) return out;
  for (const auto& m : *messages) {
    if (m.server_ms >= member->joined_ms) out.push_back(m.seq);
  }
  return out;
}

// What Populate() made.
struct World {
  UserId alice = 0, bob = 0, carol = 0, dave = 0, erin = 0;
  ConvId direct = 0;           // alice-bob: recalled, edited and custom messages
  ConvId team = 0;             // group: carol sent, then was removed; erin joined late
  ConvId handed = 0;           // group whose owner (carol) left: dave owns it now
  ConvId crowd = 0;            // group past the read-fan-out threshold
  ConvId quiet = 0;            // direct dave-erin without messages
  std::string team_client_id;  // a client_msg_id alice used in `team`
  SendAck team_ack;            // its acknowledgement
};

class ExportTest : public test::CoreTest {
 protected:
  ExportTest() {
    config_.password_cost = PasswordCost::kMinimum;
    config_.read_fanout_threshold = 4;
  }

  SendAck SendAs(UserId who, ConvId conv, const std::string& body,
                 MessageKind kind = MessageKind::kText, std::string client_id = {},
                 const std::string& device = "dev") {
    SendRequest req;
    req.conv_id = conv;
    req.client_msg_id = client_id.empty() ? NextClientId() : client_id;
    req.kind = kind;
    req.body = body;
    auto r = core().messages().SendSync(Id(who, device), std::move(req));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SendAck{};
  }

  World Populate() {
    World w;
    auto alice = core().accounts().Register("Alice", kAlicePassword);
    EXPECT_TRUE(alice.ok()) << alice.status().ToString();
    w.alice = alice->id;
    auto others = test::MakeUsers(core(), 4, "user");
    EXPECT_EQ(others.size(), 4u);
    w.bob = others[0], w.carol = others[1], w.dave = others[2], w.erin = others[3];
    auto& convs = core().conversations();
    auto& msgs = core().messages();

    auto direct = convs.OpenDirect(w.alice, w.bob);
    EXPECT_TRUE(direct.ok());
    w.direct = direct->id;
    SendAs(w.alice, w.direct, "hi bob", MessageKind::kText, {}, "phone");
    SendAs(w.bob, w.direct, "hello alice");
    SendAs(w.alice, w.direct, R"({"poll":"lunch?","options":["yes","no"]})", MessageKind::kCustom);
    SendAs(w.bob, w.direct, "ünïcödé ✓ \"quoted\"\nsecond line");
    EXPECT_TRUE(msgs.EditSync(Id(w.bob), w.direct, 2, "hello, alice").ok());
    EXPECT_TRUE(msgs.RecallSync(Id(w.alice, "phone"), w.direct, 1).ok());
    EXPECT_TRUE(msgs.MarkReadSync(Id(w.alice), w.direct, 4).ok());

    auto team = convs.CreateGroup(w.alice, "Team ✓", {w.bob, w.carol});
    EXPECT_TRUE(team.ok());
    w.team = team->id;
    w.team_client_id = "alice-team-1";
    w.team_ack = SendAs(w.alice, w.team, "welcome", MessageKind::kText, w.team_client_id);
    SendAs(w.carol, w.team, "thanks");
    EXPECT_TRUE(convs.AddMembers(w.alice, w.team, {w.dave}).ok());
    SendAs(w.dave, w.team, "hi all");
    EXPECT_TRUE(convs.SetRole(w.alice, w.team, w.bob, Role::kAdmin).ok());
    EXPECT_TRUE(convs.RemoveMember(w.bob, w.team, w.carol).ok());
    EXPECT_TRUE(convs.AddMembers(w.bob, w.team, {w.erin}).ok());
    SendAs(w.erin, w.team, "late to the party");
    EXPECT_TRUE(msgs.RecallSync(Id(w.bob), w.team, 3).ok());  // an admin recalls dave's
    EXPECT_TRUE(msgs.MarkReadSync(Id(w.dave), w.team, 4).ok());
    EXPECT_TRUE(convs.Rename(w.alice, w.team, "Team B").ok());

    auto handed = convs.CreateGroup(w.carol, "handed over", {w.dave, w.erin});
    EXPECT_TRUE(handed.ok());
    w.handed = handed->id;
    SendAs(w.carol, w.handed, "I am leaving");
    EXPECT_TRUE(convs.Leave(w.carol, w.handed).ok());
    SendAs(w.dave, w.handed, "bye carol");

    auto crowd = convs.CreateGroup(w.bob, "crowd", {w.alice, w.carol, w.dave, w.erin});
    EXPECT_TRUE(crowd.ok());
    w.crowd = crowd->id;
    EXPECT_TRUE(crowd->read_fanout);
    for (int i = 0; i < 5; ++i) SendAs(i % 2 ? w.erin : w.bob, w.crowd, Cat("crowd ", i));
    EXPECT_TRUE(msgs.MarkReadSync(Id(w.erin), w.crowd, 2).ok());

    auto quiet = convs.OpenDirect(w.dave, w.erin);
    EXPECT_TRUE(quiet.ok());
    w.quiet = quiet->id;
    Flush();
    return w;
  }

  std::string ExportText(Store& store, const ExportScope& scope, ExportStats* stats = nullptr) {
    std::ostringstream out;
    Status st = Export(store, scope, out, stats);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out.str();
  }

  // Opens a Core (with this test's config) over an imported store.
  std::unique_ptr<Core> OpenCore(Target& t) {
    auto core = Core::Open(std::move(t.store), config_);
    EXPECT_TRUE(core.ok()) << core.status().ToString();
    return core.ok() ? std::move(core).value() : nullptr;
  }
};

// Found by fuzz/export_line_fuzz.cc: a number too large for a double threw an exception
// ParseLine did not catch, which ended `parley admin import`.
TEST(ExportLineTest, ANumberOutOfRangeIsABadLine) {
  for (const char* text :
       {R"({"type":"end","users":1e999})", R"({"type":"user","id":17e7225600000})",
        R"({"type":"read_cursor","user":-1,"conv":1,"seq":1})"}) {
    auto line = ParseLine(text, 3);
    ASSERT_FALSE(line.ok()) << text;
    EXPECT_EQ(line.status().code(), Code::kInvalidArgument) << text;
  }
}

TEST_F(ExportTest, RoundTripKeepsEveryRecordAndTheServerCarriesOn) {
  const World w = Populate();
  const StoreDump source = Dump(core().store());
  ASSERT_EQ(source.users.size(), 5u);
  ASSERT_EQ(source.convs.size(), 5u);

  ExportStats exported;
  const std::string text = ExportText(core().store(), ExportScope::All(), &exported);
  EXPECT_EQ(exported.users, 5u);
  EXPECT_EQ(exported.conversations, 5u);
  EXPECT_EQ(exported.messages, 4u + 4u + 2u + 5u);
  const auto lines = Lines(text);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind(R"({"type":"parley_export","format":1,"exported_ms":)", 0), 0u);
  EXPECT_NE(lines[0].find(R"("scope":"all")"), std::string::npos);
  EXPECT_EQ(lines.back().rfind(R"({"type":"end","users":5,"conversations":5,)", 0), 0u);
  EXPECT_NE(FindLine(lines, {R"("type":"message")", R"("recalled":true)"}), -1);
  EXPECT_NE(FindLine(lines, {R"("type":"message")", R"("edited_ms":)", "hello, alice"}), -1);
  EXPECT_NE(FindLine(lines, {R"("kind":"custom")", R"(\"poll\")"}), -1);

  Target target;
  ImportStats imported;
  Status st = ImportText(*target.store, text, &imported);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(imported.users, exported.users);
  EXPECT_EQ(imported.conversations, exported.conversations);
  EXPECT_EQ(imported.members, exported.members);
  EXPECT_EQ(imported.read_cursors, exported.read_cursors);
  EXPECT_EQ(imported.messages, exported.messages);
  EXPECT_GT(imported.inbox_events, 0u);

  // Every user, conversation, head, member, read cursor and message, every field.
  const StoreDump copy = Dump(*target.store);
  EXPECT_EQ(copy.users, source.users);
  EXPECT_EQ(copy.convs, source.convs);
  EXPECT_EQ(copy.counters.last_user_id, source.counters.last_user_id);
  EXPECT_EQ(copy.counters.last_conv_id, source.counters.last_conv_id);
  EXPECT_EQ(copy.counters.last_gseq, source.counters.last_gseq);
  EXPECT_EQ(*target.store->FindDirect(w.bob, w.alice), w.direct);
  EXPECT_EQ(*target.store->FindDirect(w.erin, w.dave), w.quiet);
  // One change-feed entry per message, so the search index can be rebuilt.
  auto changes = target.store->ScanChanges(0, 1000);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->size(), exported.messages);

  // Exported again, the import gives the same file: nothing was lost or invented. Only
  // the time and the users' last_user_seq differ: the rebuilt inbox events follow the
  // old ones, so every user's last_user_seq moved on by the number of them.
  const std::string again = ExportText(*target.store, ExportScope::All());
  EXPECT_EQ(WithoutField(WithoutField(again, "exported_ms"), "last_user_seq"),
            WithoutField(WithoutField(text, "exported_ms"), "last_user_seq"));
  for (const auto& [id, unused] : source.users) {
    const Seq old_last = *core().store().LastUserSeq(id);
    const size_t rebuilt = target.store->ScanInbox(id, 0, SIZE_MAX)->size();
    ASSERT_GT(rebuilt, 0u);
    EXPECT_EQ(*target.store->LastUserSeq(id), old_last + rebuilt) << id;
    EXPECT_EQ((*target.store->ScanInbox(id, 0, 1))[0].user_seq, old_last + 1) << id;
    EXPECT_NE(again.find(Cat(R"("id":)", id, R"(,"name")")), std::string::npos);
  }

  // The imported store serves like the original.
  std::unique_ptr<Core> core2 = OpenCore(target);
  ASSERT_TRUE(core2);
  Store& store2 = core2->store();
  auto login = core2->accounts().Login("alice", kAlicePassword, "laptop");
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_EQ(login->user_id, w.alice);
  EXPECT_EQ(core2->accounts().Login("alice", "wrong password", "laptop").status().code(),
            Code::kUnauthenticated);
  // No device came along: the old session is gone.
  EXPECT_EQ(store2.ListDevices(w.bob)->size(), 0u);

  // Dave syncs from 0: his joins, then every message of his write-fan-out conversations
  // since he joined, in order, with the messages attached as stored.
  auto items = SyncFromZero(*core2, Id(w.dave));
  std::map<ConvId, std::vector<Seq>> seen;
  std::set<ConvId> joined;
  Seq prev_user_seq = *core().store().LastUserSeq(w.dave);
  for (const auto& item : items) {
    EXPECT_EQ(item.event.user_seq, prev_user_seq + 1);
    prev_user_seq = item.event.user_seq;
    if (item.event.type == EventType::kMemberJoined) joined.insert(item.event.conv_id);
    if (item.event.type != EventType::kMessage) continue;
    EXPECT_TRUE(joined.count(item.event.conv_id)) << "a message before the join";
    seen[item.event.conv_id].push_back(item.event.conv_seq);
    ASSERT_TRUE(item.message.has_value());
    EXPECT_EQ(Text(*item.message),
              Text(*core().store().GetMessage(item.event.conv_id, item.event.conv_seq)));
  }
  EXPECT_EQ(joined, (std::set<ConvId>{w.team, w.handed, w.crowd, w.quiet}));
  EXPECT_EQ(seen[w.team], SinceJoin(core().store(), w.dave, w.team));
  ASSERT_GE(seen[w.team].size(), 2u);  // joined after message 2 was sent
  EXPECT_EQ(seen[w.team].back(), 4u);
  EXPECT_EQ(seen[w.handed], SinceJoin(core().store(), w.dave, w.handed));
  EXPECT_EQ(seen[w.handed].size(), 2u);
  EXPECT_EQ(seen.count(w.crowd), 0u);  // read fan-out: no per-message events
  EXPECT_EQ(prev_user_seq, *store2.LastUserSeq(w.dave));
  // Bob sees the direct conversation whole, and alice's read cursor as a receipt.
  auto bob_items = SyncFromZero(*core2, Id(w.bob));
  std::vector<Seq> direct_seqs;
  bool receipt = false;
  for (const auto& item : bob_items) {
    if (item.event.conv_id != w.direct) continue;
    if (item.event.type == EventType::kMessage) direct_seqs.push_back(item.event.conv_seq);
    if (item.event.type == EventType::kReceipt) {
      receipt = true;
      EXPECT_EQ(item.event.actor, w.alice);
      EXPECT_EQ(item.event.conv_seq, 4u);
    }
  }
  EXPECT_EQ(direct_seqs, (std::vector<Seq>{1, 2, 3, 4}));
  EXPECT_TRUE(receipt);
  // History and the conversation list work on the imported data.
  HistoryRequest hist;
  hist.conv_id = w.team;
  auto page = core2->timeline().History(Id(w.erin), hist);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(page->messages[i].seq, i + 1);
  auto list = core2->timeline().ListConversations(Id(w.erin));
  ASSERT_TRUE(list.ok());
  // Not "quiet": dave opened it and nobody wrote in it, so erin does not see it yet.
  EXPECT_EQ(list->size(), 3u);

  // New writes continue every sequence.
  const Seq dave_last = *store2.LastUserSeq(w.dave);
  const Seq bob_last = *store2.LastUserSeq(w.bob);
  SendRequest req;
  req.conv_id = w.team;
  req.client_msg_id = "after-import-1";
  req.body = "first message on the new server";
  auto ack = core2->messages().SendSync(Id(w.bob), req);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_FALSE(ack->duplicate);
  EXPECT_EQ(ack->seq, 5u);
  EXPECT_EQ(ack->msg_id, source.counters.last_gseq + 1);
  EXPECT_EQ(*store2.LastUserSeq(w.dave), dave_last + 1);
  EXPECT_EQ(*store2.LastUserSeq(w.bob), bob_last + 1);
  auto dave_new = store2.ScanInbox(w.dave, dave_last, 10);
  ASSERT_TRUE(dave_new.ok());
  ASSERT_EQ(dave_new->size(), 1u);
  EXPECT_EQ((*dave_new)[0].type, EventType::kMessage);
  EXPECT_EQ((*dave_new)[0].conv_seq, 5u);
  EXPECT_EQ(store2.GetMessage(w.team, 4)->body, "late to the party");  // not overwritten
  auto new_user = core2->accounts().Register("frank", "frank's password");
  ASSERT_TRUE(new_user.ok());
  EXPECT_EQ(new_user->id, source.counters.last_user_id + 1);
  auto new_conv = core2->conversations().CreateGroup(w.alice, "new", {new_user->id});
  ASSERT_TRUE(new_conv.ok());
  EXPECT_EQ(new_conv->id, source.counters.last_conv_id + 1);
  auto direct_ack = core2->messages().SendSync(
      Id(w.bob), SendRequest{w.direct, "after-2", MessageKind::kText, "ok"});
  ASSERT_TRUE(direct_ack.ok());
  EXPECT_EQ(direct_ack->seq, 5u);
  EXPECT_EQ(direct_ack->msg_id, source.counters.last_gseq + 2);

  // A client retrying a send from before the move gets its first acknowledgement.
  req.conv_id = w.team;
  req.client_msg_id = w.team_client_id;
  req.body = "welcome";
  auto retry = core2->messages().SendSync(Id(w.alice), req);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->seq, w.team_ack.seq);
  EXPECT_EQ(retry->msg_id, w.team_ack.msg_id);
  EXPECT_EQ(retry->server_ms, w.team_ack.server_ms);
  EXPECT_EQ(store2.GetConvHead(w.team)->last_seq, 5u);
  core2->Shutdown();
}

// A device keeps its sync cursor when its user logs in again on the moved server (the CLI
// does when the server address is the same): it must still get every new event.
TEST_F(ExportTest, ADeviceThatKeepsItsCursorAcrossTheMoveMissesNothing) {
  const World w = Populate();
  ASSERT_TRUE(core().conversations().Leave(w.erin, w.team).ok());
  ASSERT_TRUE(core().conversations().Leave(w.erin, w.handed).ok());
  ASSERT_TRUE(core().conversations().Leave(w.erin, w.crowd).ok());
  // A user in no conversation but the quiet direct one, and one in none at all.
  auto loner = test::MakeUsers(core(), 1, "loner");
  ASSERT_EQ(loner.size(), 1u);
  auto group = core().conversations().CreateGroup(loner[0], "alone", {});
  ASSERT_TRUE(group.ok());
  ASSERT_TRUE(core().conversations().Leave(loner[0], group->id).ok());
  Flush();
  std::map<UserId, Seq> cursors;  // each device has processed everything
  for (UserId u : {w.alice, w.bob, w.carol, w.dave, w.erin, loner[0]}) {
    cursors[u] = LastUserSeq(u);
    ASSERT_GT(cursors[u], 0u) << u;
  }
  const std::string text = ExportText(core().store(), ExportScope::All());
  EXPECT_NE(text.find(Cat(R"("last_user_seq":)", cursors[w.dave])), std::string::npos);

  Target target;
  ImportStats stats;
  Status st = ImportText(*target.store, text, &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  for (const auto& [u, cursor] : cursors) {
    EXPECT_GE(*target.store->LastUserSeq(u), cursor) << u;
  }
  // The rebuilt events come after every old cursor; a user with none keeps the old end.
  EXPECT_EQ(*target.store->LastUserSeq(loner[0]), cursors[loner[0]]);
  EXPECT_GT(*target.store->InboxFloor(loner[0]), 1u);

  auto core2 = OpenCore(target);
  ASSERT_TRUE(core2);
  // A new device still gets the rebuilt timeline from 0.
  auto fresh = SyncFromZero(*core2, Id(w.dave, "new-device"));
  EXPECT_FALSE(fresh.empty());
  ASSERT_TRUE(core2->conversations().AddMembers(w.alice, w.team, {loner[0]}).ok());
  SendRequest req{w.team, "moved-1", MessageKind::kText, "after the move"};
  auto ack = core2->messages().SendSync(Id(w.alice), req);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  auto direct = core2->messages().SendSync(
      Id(w.dave), SendRequest{w.quiet, "moved-2", MessageKind::kText, "still there?"});
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  for (const auto& [u, cursor] : cursors) {
    SyncRequest sync;
    sync.since = cursor;
    sync.limit = 1000;
    auto reply = core2->timeline().Sync(Id(u, "old-device"), sync);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_FALSE(reply->reset) << u;
    bool got = false;
    for (const auto& item : reply->items) {
      if (item.event.type == EventType::kMessage && item.message.has_value() &&
          (item.message->body == "after the move" || item.message->body == "still there?")) {
        got = true;
      }
    }
    const bool member = u != w.carol;  // carol is in none of the two conversations
    EXPECT_EQ(got, member) << "user " << u << " from cursor " << cursor;
  }
  core2->Shutdown();
}

TEST_F(ExportTest, WithoutPasswordsAccountsExistButCannotLogIn) {
  const World w = Populate();
  ExportScope scope = ExportScope::All();
  scope.password_hashes = false;
  const std::string text = ExportText(core().store(), scope);
  EXPECT_EQ(text.find("$argon2id$"), std::string::npos);
  Target target;
  ASSERT_TRUE(ImportText(*target.store, text).ok());
  auto alice = target.store->GetUser(w.alice);
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->password_hash, "");
  auto core2 = OpenCore(target);
  ASSERT_TRUE(core2);
  EXPECT_EQ(core2->accounts().Login("alice", kAlicePassword, "laptop").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(core2->accounts().Login("alice", "", "laptop").status().code(), Code::kUnauthenticated);
  core2->Shutdown();
}

TEST_F(ExportTest, ConversationScopeImportsOnItsOwn) {
  const World w = Populate();
  const StoreDump source = Dump(core().store());
  ExportStats stats;
  const std::string text = ExportText(core().store(), ExportScope::Conversation(w.team), &stats);
  EXPECT_NE(Lines(text)[0].find(R"("scope":"conversation","conv":)" + std::to_string(w.team)),
            std::string::npos);
  EXPECT_EQ(stats.conversations, 1u);
  EXPECT_EQ(stats.messages, 4u);
  // The members, and carol, who sent a message and was removed since.
  EXPECT_EQ(stats.users, 5u);

  Target target;
  Status st = ImportText(*target.store, text);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const StoreDump copy = Dump(*target.store);
  EXPECT_EQ(copy.convs.size(), 1u);
  EXPECT_EQ(copy.convs.at(w.team), source.convs.at(w.team));
  for (const auto& [id, text_of] : copy.users) EXPECT_EQ(text_of, source.users.at(id));
  EXPECT_TRUE(copy.users.count(w.carol));
  EXPECT_EQ(target.store->ListUserConversations(w.carol)->size(), 0u);
  EXPECT_EQ(target.store->GetMember(w.team, w.carol).status().code(), Code::kNotFound);

  auto core2 = OpenCore(target);
  ASSERT_TRUE(core2);
  auto items = SyncFromZero(*core2, Id(w.bob));
  std::vector<Seq> seqs;
  for (const auto& item : items) {
    if (item.event.type == EventType::kMessage) seqs.push_back(item.event.conv_seq);
  }
  EXPECT_EQ(seqs, (std::vector<Seq>{1, 2, 3, 4}));
  // The ids continue after the source's: a later import of other data cannot collide here.
  auto ack =
      core2->messages().SendSync(Id(w.erin), SendRequest{w.team, "x1", MessageKind::kText, "next"});
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->seq, 5u);
  EXPECT_EQ(ack->msg_id, core().store().GetConvHead(w.team)->last_gseq + 1);
  core2->Shutdown();
}

TEST_F(ExportTest, UserScopeImportsOnItsOwn) {
  const World w = Populate();
  const StoreDump source = Dump(core().store());
  ExportStats stats;
  const std::string text = ExportText(core().store(), ExportScope::User(w.dave), &stats);
  EXPECT_NE(Lines(text)[0].find(R"("scope":"user","user":)" + std::to_string(w.dave)),
            std::string::npos);
  EXPECT_EQ(stats.conversations, 4u);  // team, handed, crowd, quiet; not alice-bob

  Target target;
  Status st = ImportText(*target.store, text);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const StoreDump copy = Dump(*target.store);
  EXPECT_EQ(copy.convs.size(), 4u);
  for (ConvId id : {w.team, w.handed, w.crowd, w.quiet}) {
    EXPECT_EQ(copy.convs.at(id), source.convs.at(id)) << id;
  }
  EXPECT_EQ(copy.convs.count(w.direct), 0u);
  EXPECT_EQ(copy.users.size(), 5u);  // everyone shares a conversation with dave
  for (const auto& [id, text_of] : copy.users) EXPECT_EQ(text_of, source.users.at(id));
  EXPECT_EQ(target.store->FindDirect(w.alice, w.bob).status().code(), Code::kNotFound);

  auto core2 = OpenCore(target);
  ASSERT_TRUE(core2);
  auto login = core2->accounts().Login("alice", kAlicePassword, "d");
  EXPECT_TRUE(login.ok());
  auto items = SyncFromZero(*core2, Id(w.dave));
  size_t messages = 0;
  for (const auto& item : items) messages += item.event.type == EventType::kMessage;
  EXPECT_EQ(messages, SinceJoin(core().store(), w.dave, w.team).size() + 2);
  core2->Shutdown();
}

TEST_F(ExportTest, ScopesThatDoNotExistAreNotFound) {
  const World w = Populate();
  for (const ExportScope& scope :
       {ExportScope::User(w.erin + 100), ExportScope::Conversation(w.quiet + 100)}) {
    std::ostringstream out;
    ExportStats stats;
    EXPECT_EQ(Export(core().store(), scope, out, &stats).code(), Code::kNotFound);
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(stats.users, 0u);
  }
}

TEST_F(ExportTest, AnEmptyStoreExportsAndImports) {
  const std::string text = ExportText(core().store(), ExportScope::All());
  EXPECT_EQ(Lines(text).size(), 2u);
  Target target;
  ImportStats stats;
  ASSERT_TRUE(ImportText(*target.store, text, &stats).ok());
  EXPECT_EQ(stats.users, 0u);
  ExpectEmpty(*target.store);
}

// Blocks and a direct conversation still hidden from its peer (conv.open, no message)
// travel through a whole export; the peer's rebuilt timeline has no event of it.
TEST_F(ExportTest, BlocksAndHiddenDirectConversationsRoundTrip) {
  auto users = test::MakeUsers(core(), 3, "blocker");
  ASSERT_TRUE(core().blocks().Block(users[0], users[1]).ok());
  ASSERT_TRUE(core().blocks().Block(users[0], users[2]).ok());
  auto hidden = core().conversations().OpenDirect(users[2], users[1]);
  ASSERT_TRUE(hidden.ok());
  ASSERT_EQ(hidden->hidden_from, users[1]);
  const std::string text = ExportText(core().store(), ExportScope::All());
  EXPECT_NE(text.find(R"("type":"block")"), std::string::npos);
  EXPECT_NE(text.find(R"("hidden_from":)"), std::string::npos);

  Target target;
  Status st = ImportText(*target.store, text);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Dump(*target.store).convs, Dump(core().store()).convs);
  auto blocks = target.store->ListBlocks(users[0]);
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 2u);
  EXPECT_EQ((*blocks)[0].blocked, users[1]);
  EXPECT_EQ((*blocks)[0].created_ms, core().store().ListBlocks(users[0])->at(0).created_ms);
  EXPECT_TRUE(target.store->ScanInbox(users[1], 0, 10)->empty());
  EXPECT_EQ(target.store->ScanInbox(users[2], 0, 10)->size(), 1u);

  // A block of an unknown user, or of oneself, is refused with its line.
  auto lines = Lines(text);
  auto at = std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.find(R"("block")") != l.npos; });
  ASSERT_NE(at, lines.end());
  for (const std::string& bad :
       {std::string(R"({"type":"block","user":1,"blocked":999,"created_ms":1})"),
        Cat(R"({"type":"block","user":)", users[0], R"(,"blocked":)", users[0],
            R"(,"created_ms":1})")}) {
    auto copy = lines;
    *(copy.begin() + (at - lines.begin())) = bad;
    Target t2;
    EXPECT_EQ(ImportText(*t2.store, Join(copy)).code(), Code::kInvalidArgument) << bad;
  }
}

TEST_F(ExportTest, BlankLinesAndUnknownFieldsAreIgnored) {
  Populate();
  auto lines = Lines(ExportText(core().store(), ExportScope::All()));
  lines[1] = Replace(lines[1], "{", R"({"future_field":[1,2,{"x":null}],)");
  lines.insert(lines.begin() + 2, "");
  lines.insert(lines.begin() + 4, "   \r");
  Target target;
  Status st = ImportText(*target.store, Join(lines));
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(ExportTest, ImportNeedsAnEmptyStore) {
  Populate();
  const std::string text = ExportText(core().store(), ExportScope::All());
  // The very store it came from.
  const StoreDump before = Dump(core().store());
  EXPECT_EQ(ImportText(core().store(), text).code(), Code::kFailedPrecondition);
  // A store holding only one user.
  Target target;
  {
    auto other = Core::Open(std::move(target.store), config_);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(test::MakeUsers(**other, 1, "solo").size() == 1);
    Status st = ImportText((*other)->store(), text);
    EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
    EXPECT_EQ((*other)->store().LoadCounters()->last_user_id, 1u);
    EXPECT_EQ((*other)->store().GetUser(1)->name, "solo1");
    EXPECT_EQ((*other)->store().GetConversation(1).status().code(), Code::kNotFound);
    (*other)->Shutdown();
  }
  const StoreDump after = Dump(core().store());
  EXPECT_EQ(after.users, before.users);
  EXPECT_EQ(after.convs, before.convs);
}

TEST_F(ExportTest, ABadFileIsRefusedWithItsLineAndChangesNothing) {
  const World w = Populate();
  const auto good = Lines(ExportText(core().store(), ExportScope::All()));
  const int end = static_cast<int>(good.size()) - 1;
  const int member = FindLine(good, {R"("type":"member")"});
  const int second =
      FindLine(good, {R"("type":"message")", Cat(R"("conv":)", w.direct, ","), R"("seq":2,)"});
  const int team_line = FindLine(good, {R"("type":"conversation")", Cat(R"("id":)", w.team, ",")});
  ASSERT_GT(member, 0);
  ASSERT_GT(second, 0);
  ASSERT_GT(team_line, 0);

  struct Case {
    std::string name;
    std::vector<std::string> lines;
    int line;  // 1-based line the error must name
  };
  std::vector<Case> cases;
  auto with = [&](std::string name, int line, auto edit) {
    Case c{std::move(name), good, line};
    edit(c.lines);
    cases.push_back(std::move(c));
  };
  with("malformed JSON", member + 1, [&](auto& l) { l[member] = R"({"type":"member","conv":)"; });
  with("not an object", member + 1, [&](auto& l) { l[member] = "[1,2]"; });
  with("unknown type", 3, [](auto& l) { l.insert(l.begin() + 2, R"({"type":"sticker"})"); });
  with("wrong format", 1, [](auto& l) { l[0] = Replace(l[0], R"("format":1)", R"("format":2)"); });
  with("no header", 1, [](auto& l) { l.erase(l.begin()); });
  with("second header", 3, [](auto& l) { l.insert(l.begin() + 2, l[0]); });
  with("dangling member", member + 1,
       [&](auto& l) { l[member] = Replace(l[member], R"("user":)", R"("user":999)"); });
  with("conversation after its members", member, [&](auto& l) {
    // Moves the first conversation line below its first member line.
    std::swap(l[member - 1], l[member]);
  });
  with("message seq gap", second + 1, [&](auto& l) { l.erase(l.begin() + second); });
  with("message seq repeated", second + 2,
       [&](auto& l) { l.insert(l.begin() + second, l[second]); });
  with("missing end", end, [](auto& l) { l.pop_back(); });
  with("truncated mid-line", end, [&](auto& l) {
    l.pop_back();
    l.back().resize(l.back().size() / 2);
  });
  with("wrong counts", end + 1,
       [&](auto& l) { l[end] = Replace(l[end], R"("messages":)", R"("messages":1)"); });
  with("data after end", end + 2, [&](auto& l) { l.push_back(l[1]); });
  with("last_seq beyond the messages", team_line + 1, [&](auto& l) {
    l[team_line] = Replace(l[team_line], R"("last_seq":4)", R"("last_seq":5)");
  });
  const int quiet_line =
      FindLine(good, {R"("type":"conversation")", Cat(R"("id":)", w.quiet, ",")});
  with("a second direct conversation of a pair", quiet_line + 1, [&](auto& l) {
    for (auto [from, to] : {std::pair{w.dave, w.alice}, std::pair{w.erin, w.bob}}) {
      const int i =
          FindLine(l, {R"("type":"member")", Cat(R"("conv":)", w.quiet, ",\"user\":", from, ",")});
      ASSERT_GT(i, 0);
      l[i] = Replace(l[i], Cat(R"("user":)", from, ","), Cat(R"("user":)", to, ","));
    }
  });
  with("wrong field type", 2, [](auto& l) { l[1] = Replace(l[1], R"("id":1)", R"("id":"1")"); });

  Target target;  // every case runs against the same store, which must stay empty
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Status st = ImportText(*target.store, Join(c.lines));
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(Cat("line ", c.line, ":")), std::string::npos) << st.ToString();
    ExpectEmpty(*target.store);
  }
  // And still takes the good file.
  Status st = ImportText(*target.store, Join(good));
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(target.store->LoadCounters()->last_conv_id, w.quiet);
}

// Each record type's parser names the line and the problem, in words an operator can act
// on; field problems carry the record type. The messages are part of the CLI's interface.
TEST(ExportFormatTest, EachRecordTypeExplainsABadLine) {
  const std::string header = R"({"type":"parley_export","format":1,"exported_ms":1,"scope":"all"})";
  const std::string user =
      R"({"type":"user","id":1,"name":"ann","password_hash":"","created_ms":1})";
  const std::string conv =
      R"({"type":"conversation","id":1,"kind":"group","created_ms":1,"last_seq":0,"last_ms":1,"last_gseq":0})";
  struct Case {
    std::vector<std::string> lines;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{header, "{\"type\":\"user\""}, "line 2: not valid JSON ("},
      {{header, "[1]"}, "line 2: not a JSON object"},
      {{header, R"({"id":1})"}, "line 2: no \"type\" field"},
      {{R"({"type":"user"})"},
       "line 1: not a Parley export: the first line must be the \"parley_export\" header"},
      {{R"({"type":"parley_export","format":2})"},
       "line 1: export format 2 is not supported (this version reads format 1)"},
      {{header, R"({"type":"sticker"})"}, "line 2: unknown record type \"sticker\""},
      {{header, R"({"type":"user","id":1,"name":"ann","created_ms":1})"},
       "line 2: user: field \"password_hash\" is missing"},
      {{header, R"({"type":"user","id":0,"name":"ann","password_hash":"","created_ms":1})"},
       "line 2: user: \"id\" must not be 0"},
      {{header, R"({"type":"user","id":-1,"name":"ann","password_hash":"","created_ms":1})"},
       "line 2: user: field \"id\" must be a non-negative integer"},
      {{header, R"({"type":"user","id":1,"name":"ann","password_hash":"","created_ms":"1"})"},
       "line 2: user: field \"created_ms\" must be an integer"},
      {{header, R"({"type":"user","id":1,"name":7,"password_hash":"","created_ms":1})"},
       "line 2: user: field \"name\" must be a string"},
      {{header, user, Replace(conv, R"("group")", R"("channel")")},
       "line 3: conversation kind must be \"direct\" or \"group\""},
      {{header, user, Replace(conv, R"("kind":"group",)", "")},
       "line 3: conversation: field \"kind\" is missing"},
      {{header, user, Replace(Replace(conv, R"("group")", R"("channel")"), R"("last_ms":1,)", "")},
       "line 3: conversation: field \"last_ms\" is missing"},
      {{header, user, Replace(conv, R"("created_ms")", R"("read_fanout":1,"created_ms")")},
       "line 3: conversation: field \"read_fanout\" must be true or false"},
      {{header, user, conv, R"({"type":"member","conv":1,"user":1,"role":"boss","joined_ms":1})"},
       "line 4: role must be \"owner\", \"admin\" or \"member\""},
      {{header, user, conv, R"({"type":"read_cursor","user":1,"conv":1})"},
       "line 4: read_cursor: field \"seq\" is missing"},
      {{header, user, conv,
        R"({"type":"message","conv":1,"seq":1,"msg_id":1,"sender":1,"kind":"voice","body":"x","server_ms":1})"},
       "line 4: message kind must be \"text\" or \"custom\""},
      {{header, R"({"type":"block","user":1,"created_ms":1})"},
       "line 2: block: field \"blocked\" is missing"},
      {{header, R"({"type":"end","users":0,"conversations":0,"members":0,"messages":0})"},
       "line 2: end: field \"read_cursors\" is missing"},
      {{header,
        R"({"type":"end","users":1,"conversations":0,"members":0,"read_cursors":0,"messages":0})"},
       "line 2: the \"end\" line counts 1 users but the file holds 0 (a damaged export?)"},
  };
  Target target;  // every case runs against the same store, which stays empty
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    Status st = ImportText(*target.store, Join(c.lines));
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_EQ(st.message().substr(0, c.message.size()), c.message) << st.ToString();
  }
}

// The format, byte for byte (docs/export.md): a file using every field imports, and its
// export is the same text but for the header's time and the users' last_user_seq (the
// imported server's own timelines).
TEST(ExportFormatTest, AnImportedFileExportsTheSameLines) {
  const std::vector<std::string> lines = {
      R"({"type":"parley_export","format":1,"exported_ms":1,"scope":"all"})",
      R"({"type":"user","id":1,"name":"ann","password_hash":"","created_ms":1000})",
      R"({"type":"user","id":2,"name":"bob","password_hash":"$argon2id$v=19$x","created_ms":1001})",
      R"({"type":"user","id":3,"name":"cyd","password_hash":"","created_ms":1002})",
      R"({"type":"block","user":3,"blocked":1,"created_ms":1003})",
      R"({"type":"conversation","id":1,"kind":"direct","created_ms":1010,"last_seq":2,"last_ms":1021,"last_gseq":5})",
      R"({"type":"member","conv":1,"user":1,"role":"member","joined_ms":1010})",
      R"({"type":"member","conv":1,"user":2,"role":"member","joined_ms":1010})",
      R"({"type":"read_cursor","user":1,"conv":1,"seq":2})",
      R"({"type":"message","conv":1,"seq":1,"msg_id":1,"sender":1,"sender_device":"phone","client_msg_id":"c-1","kind":"text","body":"hi \"bob\" é","server_ms":1020,"edited_ms":1030})",
      R"({"type":"message","conv":1,"seq":2,"msg_id":2,"sender":2,"sender_device":"","client_msg_id":"","kind":"text","body":"","server_ms":1021,"recalled":true,"recalled_by":2,"recalled_ms":1040})",
      R"({"type":"conversation","id":2,"kind":"group","title":"team","owner":2,"created_ms":1050,"read_fanout":true,"last_seq":1,"last_ms":1060,"last_gseq":3})",
      R"({"type":"member","conv":2,"user":1,"role":"member","joined_ms":1055})",
      R"({"type":"member","conv":2,"user":2,"role":"owner","joined_ms":1050})",
      R"({"type":"member","conv":2,"user":3,"role":"admin","joined_ms":1050})",
      R"({"type":"message","conv":2,"seq":1,"msg_id":3,"sender":3,"sender_device":"web","client_msg_id":"c-3","kind":"custom","body":"{\"x\":1}","server_ms":1060})",
      R"({"type":"conversation","id":3,"kind":"direct","created_ms":1070,"hidden_from":3,"last_seq":0,"last_ms":1070,"last_gseq":0})",
      R"({"type":"member","conv":3,"user":1,"role":"member","joined_ms":1070})",
      R"({"type":"member","conv":3,"user":3,"role":"member","joined_ms":1070})",
      R"({"type":"end","users":3,"conversations":3,"members":7,"read_cursors":1,"messages":3})",
  };
  Target target;
  ImportStats stats;
  Status st = ImportText(*target.store, Join(lines), &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(stats.messages, 3u);
  std::ostringstream out;
  ASSERT_TRUE(Export(*target.store, ExportScope::All(), out, nullptr).ok());
  const auto exported = Lines(out.str());
  ASSERT_EQ(exported.size(), lines.size());
  const std::string start = R"({"type":"parley_export","format":1,"exported_ms":)";
  EXPECT_EQ(exported[0].substr(0, start.size()), start);
  EXPECT_TRUE(exported[0].ends_with(R"(,"scope":"all"})")) << exported[0];
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string line = exported[i];
    const size_t seq = line.find(R"(,"last_user_seq":)");
    if (seq != std::string::npos) line.erase(seq, line.find('}', seq) - seq);
    EXPECT_EQ(line, lines[i]);
  }
}

}  // namespace
}  // namespace parley::backup
