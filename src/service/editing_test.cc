// MessageService::Edit: who may edit what and when, and how an edit reaches members
// (inbox events, sync, history), the change feed and the store.
#include <gtest/gtest.h>

#include <thread>

#include "common/clock.h"
#include "service/messaging.h"
#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Id;
using test::Results;
using test::WaitPast;
using namespace std::chrono_literals;

class EditTest : public test::OnEveryStore<test::DirectConvTest> {
 protected:
  Result<EditReply> Edit(UserId who, Seq seq, std::string body, ConvId conv = 0) {
    return core().messages().EditSync(Id(who), conv ? conv : conv_, seq, std::move(body));
  }
  Code EditCode(UserId who, Seq seq, std::string body) {
    auto r = Edit(who, seq, std::move(body));
    return r.ok() ? Code::kOk : r.status().code();
  }
  size_t Changes() { return core().store().ScanChanges(0, SIZE_MAX)->size(); }

  // Everything an edit writes, to check that a refused one wrote none of it.
  struct Snapshot {
    std::string body;
    int64_t edited_ms;
    uint64_t head_gseq;
    Seq inbox_a, inbox_b;
    size_t changes;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot Snap(Seq seq) {
    auto m = core().store().GetMessage(conv_, seq);
    EXPECT_TRUE(m.ok());
    return Snapshot{m->body,         m->edited_ms,    core().store().GetConvHead(conv_)->last_gseq,
                    LastUserSeq(a_), LastUserSeq(b_), Changes()};
  }
};

TEST_P(EditTest, SenderEditsAndEveryMemberSeesTheNewBody) {
  SetUpDirect();
  const size_t changes_before = Changes();
  SendAck first = Send(Id(a_, "laptop"), conv_, "helo wrold");
  SendAck second = Send(Id(a_, "laptop"), conv_, "unrelated");
  const Seq a_inbox = LastUserSeq(a_), b_inbox = LastUserSeq(b_);

  auto reply = Edit(a_, first.seq, "hello world");  // from another device of a
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->conv_id, conv_);
  EXPECT_EQ(reply->seq, first.seq);
  EXPECT_GE(reply->edited_ms, first.server_ms);

  auto m = core().store().GetMessage(conv_, first.seq);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body, "hello world");
  EXPECT_EQ(m->edited_ms, reply->edited_ms);
  EXPECT_EQ(m->msg_id, first.msg_id);  // the same message, not a new one
  EXPECT_EQ(m->server_ms, first.server_ms);
  EXPECT_EQ(m->sender_device, "laptop");
  EXPECT_EQ(core().store().GetMessage(conv_, second.seq)->edited_ms, 0);

  // Not a new message, but a change the feed (and so the search indexer) sees.
  auto head = core().store().GetConvHead(conv_);
  EXPECT_EQ(head->last_seq, second.seq);
  EXPECT_GT(head->last_gseq, second.msg_id);
  auto changes = core().store().ScanChanges(second.msg_id, 10);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ(changes->at(0).kind, ChangeKind::kEdit);
  EXPECT_EQ(changes->at(0).conv_id, conv_);
  EXPECT_EQ(changes->at(0).conv_seq, first.seq);
  EXPECT_EQ(changes->at(0).gseq, head->last_gseq);
  EXPECT_EQ(changes->at(0).ms, reply->edited_ms);

  // Both members (every device syncs the user's timeline) get a kEdit event carrying the
  // new body; the original message event now shows it too.
  for (auto [user, before] : {std::pair{a_, a_inbox}, std::pair{b_, b_inbox}}) {
    auto items = SyncAll(Id(user, "phone"));
    ASSERT_EQ(items.size(), before + 1);
    const SyncItem& edit = items.back();
    EXPECT_EQ(edit.event.type, EventType::kEdit);
    EXPECT_EQ(edit.event.conv_id, conv_);
    EXPECT_EQ(edit.event.conv_seq, first.seq);
    EXPECT_EQ(edit.event.actor, a_);
    EXPECT_EQ(edit.event.gseq, head->last_gseq);
    ASSERT_TRUE(edit.message.has_value());
    EXPECT_EQ(edit.message->body, "hello world");
    EXPECT_EQ(edit.message->edited_ms, reply->edited_ms);
    bool saw_original = false;
    for (const auto& item : items) {
      if (item.event.type == EventType::kMessage && item.event.conv_seq == first.seq) {
        saw_original = true;
        ASSERT_TRUE(item.message.has_value());
        EXPECT_EQ(item.message->body, "hello world");
      }
    }
    EXPECT_TRUE(saw_original);
  }

  // History shows the new body and when it was edited.
  HistoryRequest hreq;
  hreq.conv_id = conv_;
  auto page = core().timeline().History(Id(b_), hreq);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 2u);
  EXPECT_EQ(page->messages[0].body, "hello world");
  EXPECT_EQ(page->messages[0].edited_ms, reply->edited_ms);
  EXPECT_EQ(page->messages[1].edited_ms, 0);

  // A second edit replaces the first; both survive a restart.
  auto again = Edit(a_, first.seq, "hello, world");
  ASSERT_TRUE(again.ok());
  EXPECT_GE(again->edited_ms, reply->edited_ms);
  Reopen();
  m = core().store().GetMessage(conv_, first.seq);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body, "hello, world");
  EXPECT_EQ(m->edited_ms, again->edited_ms);
  EXPECT_EQ(Changes(), changes_before + 4);  // two messages, two edits
}

TEST_P(EditTest, OthersAndBadRequestsAreRefusedAndChangeNothing) {
  SetUpDirect();
  SendAck mine = Send(Id(a_), conv_, "original");
  SendAck custom = core()
                       .messages()
                       .SendSync(Id(a_), SendRequest{conv_, "custom-1", MessageKind::kCustom,
                                                     R"({"type":"image"})"})
                       .value();
  const Snapshot before = Snap(mine.seq);

  EXPECT_EQ(EditCode(b_, mine.seq, "hijacked"), Code::kPermissionDenied);  // the peer
  EXPECT_EQ(EditCode(outsider_, mine.seq, "hijacked"), Code::kNotMember);
  EXPECT_EQ(core().messages().EditSync(Id(a_), 999999, 1, "x").status().code(), Code::kNotMember);
  EXPECT_EQ(EditCode(a_, 0, "x"), Code::kNotFound);
  EXPECT_EQ(EditCode(a_, custom.seq + 1, "x"), Code::kNotFound);
  EXPECT_EQ(EditCode(a_, custom.seq, R"({"type":"video"})"), Code::kInvalidArgument);
  // The body rules of send.
  EXPECT_EQ(EditCode(a_, mine.seq, ""), Code::kInvalidArgument);
  EXPECT_EQ(EditCode(a_, mine.seq, std::string(config_.max_message_bytes + 1, 'x')),
            Code::kTooLarge);
  EXPECT_EQ(EditCode(a_, mine.seq, "bad \xC3\x28 utf8"), Code::kInvalidUtf8);
  EXPECT_TRUE(Snap(mine.seq) == before);
  EXPECT_EQ(core().store().GetMessage(conv_, custom.seq)->body, R"({"type":"image"})");

  // The largest allowed body is fine.
  EXPECT_TRUE(Edit(a_, mine.seq, std::string(config_.max_message_bytes, 'y')).ok());
}

TEST_P(EditTest, IdenticalBodyIsANoOp) {
  SetUpDirect();
  SendAck sent = Send(Id(a_), conv_, "same");
  Snapshot before = Snap(sent.seq);
  auto r = Edit(a_, sent.seq, "same");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->edited_ms, 0);  // never edited
  EXPECT_TRUE(Snap(sent.seq) == before);

  auto edited = Edit(a_, sent.seq, "changed");
  ASSERT_TRUE(edited.ok());
  before = Snap(sent.seq);
  auto retry = Edit(a_, sent.seq, "changed");  // a retried edit
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->edited_ms, edited->edited_ms);
  EXPECT_TRUE(Snap(sent.seq) == before);
}

TEST_P(EditTest, RecalledMessagesCannotBeEdited) {
  SetUpDirect();
  SendAck gone = Send(Id(a_), conv_, "regret");
  ASSERT_TRUE(core().messages().RecallSync(Id(a_), conv_, gone.seq).ok());
  const Snapshot before = Snap(gone.seq);
  EXPECT_EQ(EditCode(a_, gone.seq, "revived"), Code::kInvalidArgument);
  EXPECT_TRUE(Snap(gone.seq) == before);

  // Also when the recall is queued just before the edit, not yet in the store: the edit
  // must not bring the body back.
  SendAck next = Send(Id(a_), conv_, "second regret");
  Results<bool> recall(1);
  Results<EditReply> edit(1);
  core().messages().Recall(Id(a_), conv_, next.seq, recall.Slot(0));
  core().messages().Edit(Id(a_), conv_, next.seq, "revived", edit.Slot(0));
  recall.Wait();
  edit.Wait();
  ASSERT_TRUE(recall[0].ok());
  EXPECT_EQ(edit[0].status().code(), Code::kInvalidArgument);
  auto m = core().store().GetMessage(conv_, next.seq);
  EXPECT_TRUE(m->recalled);
  EXPECT_TRUE(m->body.empty());
}

TEST_P(EditTest, QueuedEditsApplyInOrder) {
  SetUpDirect();
  SendAck sent = Send(Id(a_), conv_, "v0");
  const size_t changes = Changes();
  // Many edits in flight at once, several per batch, ending back at the original text:
  // each must start from the one before it, not from the (older) stored body.
  constexpr int kEdits = 40;
  Results<EditReply> edits(kEdits + 1);
  for (int i = 1; i <= kEdits; ++i) {
    core().messages().Edit(Id(a_), conv_, sent.seq, test::Cat("v", i), edits.Slot(i - 1));
  }
  core().messages().Edit(Id(a_), conv_, sent.seq, "v0", edits.Slot(kEdits));
  edits.Wait();
  for (size_t i = 0; i < edits.size(); ++i) ASSERT_TRUE(edits[i].ok()) << i;
  auto m = core().store().GetMessage(conv_, sent.seq);
  EXPECT_EQ(m->body, "v0");
  EXPECT_EQ(m->edited_ms, edits[kEdits]->edited_ms);
  EXPECT_EQ(Changes(), changes + kEdits + 1);
}

TEST_P(EditTest, EditWindow) {
  config_.edit_window_ms = 50;
  SetUpDirect();
  SendAck old = Send(Id(a_), conv_, "old");
  WaitPast(old.server_ms, 50);
  const Snapshot before = Snap(old.seq);
  EXPECT_EQ(EditCode(a_, old.seq, "too late"), Code::kFailedPrecondition);
  EXPECT_TRUE(Snap(old.seq) == before);
  EXPECT_TRUE(Edit(a_, old.seq, "old").ok());  // unchanged: nothing to refuse
  SendAck fresh = Send(Id(a_), conv_, "fresh");
  auto r = Edit(a_, fresh.seq, "fresh!");
  if (NowMillis() - fresh.server_ms < 40) {  // the window has not closed on a slow machine
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
}

TEST_P(EditTest, WindowZeroTurnsEditingOff) {
  config_.edit_window_ms = 0;
  SetUpDirect();
  SendAck sent = Send(Id(a_), conv_, "final");
  EXPECT_EQ(EditCode(a_, sent.seq, "changed"), Code::kFailedPrecondition);
  EXPECT_EQ(core().store().GetMessage(conv_, sent.seq)->body, "final");
}

TEST_P(EditTest, ReadFanoutGroupsStillTellEveryMember) {
  config_.read_fanout_threshold = 2;
  auto users = MakeUsers(4);
  auto g = core().conversations().CreateGroup(users[0], "g", {users[1], users[2], users[3]});
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->read_fanout);
  SendAck sent = Send(Id(users[2]), g->id, "big group typo");
  std::vector<Seq> before;
  for (UserId u : users) before.push_back(LastUserSeq(u));
  // Not a moderator's business: even the owner may not edit someone else's message.
  EXPECT_EQ(core().messages().EditSync(Id(users[0]), g->id, sent.seq, "x").status().code(),
            Code::kPermissionDenied);
  ASSERT_TRUE(core().messages().EditSync(Id(users[2]), g->id, sent.seq, "big group").ok());
  for (size_t i = 0; i < users.size(); ++i) {
    auto items = SyncAll(Id(users[i]), before[i]);
    ASSERT_EQ(items.size(), 1u) << i;
    EXPECT_EQ(items[0].event.type, EventType::kEdit);
    ASSERT_TRUE(items[0].message.has_value());
    EXPECT_EQ(items[0].message->body, "big group");
  }
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(EditTest);

}  // namespace
}  // namespace parley
