// The Store conformance suite: what every Store implementation must do, tested through the
// interface only (store.h) on every registered store (tests/support/store_kinds.h). A new
// store passes it by adding its factory there; what belongs to one engine (on-disk layout,
// options, locking, checkpoints) is tested beside that engine (rocks_store_test.cc).
#include <gtest/gtest.h>

#include <limits>

#include "store/store_fixture.h"

namespace parley {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

class StoreConformance : public StoreFixture,
                         public ::testing::WithParamInterface<test::StoreKind> {
 protected:
  StoreConformance() : StoreFixture(GetParam()) {}
};

TEST_P(StoreConformance, EmptyStoreDefaults) {
  EXPECT_EQ(store_->GetUser(1).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->FindUserByName("alice").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->FindDeviceByToken(std::string(32, 'x')).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ListDevices(1)->empty());
  EXPECT_EQ(store_->GetConversation(1).status().code(), Code::kNotFound);
  auto head = store_->GetConvHead(1);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->last_seq, 0u);
  EXPECT_EQ(head->last_gseq, 0u);
  EXPECT_EQ(store_->FindDirect(1, 2).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ListMembers(1)->empty());
  EXPECT_EQ(store_->GetMember(1, 1).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ListUserConversations(1)->empty());
  EXPECT_EQ(store_->GetMessage(1, 1).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ScanMessages(1, 1, true, 10)->empty());
  EXPECT_TRUE(store_->ScanInbox(1, 0, 10)->empty());
  EXPECT_EQ(*store_->LastUserSeq(1), 0u);
  EXPECT_EQ(*store_->InboxFloor(1), 1u);
  EXPECT_EQ(*store_->GetReadCursor(1, 1), 0u);
  EXPECT_EQ(*store_->GetDeviceCursor(1, "d"), 0u);
  EXPECT_EQ(store_->GetDedup(1, "c", 0).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ScanChanges(0, 10)->empty());
  auto counters = store_->LoadCounters();
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->last_gseq, 0u);
  EXPECT_EQ(counters->last_user_id, 0u);
  EXPECT_EQ(counters->last_conv_id, 0u);
  EXPECT_TRUE(store_->Apply(WriteSet{}, Durability::kSync).ok());
}

TEST_P(StoreConformance, EveryRecordRoundTripsAndSurvivesReopen) {
  const std::string digest(32, '\x07');
  WriteSet ws;
  ws.Add(op::PutUser{UserRecord{5, "alice", "$argon2id$h", 111}});
  ws.Add(op::PutUser{UserRecord{6, "bob", "$argon2id$g", 112}});
  ws.Add(op::PutDevice{DeviceRecord{5, "phone", digest, 222}});
  ws.Add(op::PutDevice{DeviceRecord{5, "laptop", std::string(32, '\x08'), 223}});
  ws.Add(op::PutConversation{ConversationRecord{9, ConvKind::kDirect, "", 0, 333, 2, false}});
  ws.Add(op::PutConversation{ConversationRecord{10, ConvKind::kGroup, "g", 5, 334, 2, true}});
  ws.Add(op::PutConvHead{9, ConvHead{2, 444, 77}});
  ws.Add(op::PutDirectPair{6, 5, 9});
  ws.Add(op::PutMember{MemberRecord{9, 5, Role::kMember, 555, false}});
  ws.Add(op::PutMember{MemberRecord{9, 6, Role::kMember, 556, false}});
  ws.Add(op::PutMember{MemberRecord{10, 5, Role::kOwner, 557, true}});
  ws.Add(op::PutMember{MemberRecord{10, 6, Role::kAdmin, 558, true}});
  MessageRecord m1 = Msg(9, 1), m2 = Msg(9, 2);
  m2.recalled = true;
  m2.recalled_by = 5;
  m2.recalled_ms = 999;
  m2.body.clear();
  m2.kind = MessageKind::kCustom;
  ws.Add(op::PutMessage{m1});
  ws.Add(op::PutMessage{m2});
  ws.Add(op::PutInboxEvent{InboxEvent{6, 1, EventType::kMemberJoined, 9, 0, 5, 6, 600, 0}});
  ws.Add(op::PutInboxEvent{InboxEvent{6, 2, EventType::kRecall, 9, 2, 5, 0, 601, 78}});
  ws.Add(op::PutReadCursor{5, 9, 2});
  ws.Add(op::PutDeviceCursor{5, "phone", 17});
  ws.Add(op::PutDedup{5, "cmid", DedupRecord{9, 1, 76, 700, 800, ""}});
  ws.Add(op::PutChange{ChangeRecord{76, ChangeKind::kMessage, 9, 1, 700}});
  ws.Add(op::PutChange{ChangeRecord{78, ChangeKind::kRecall, 9, 2, 701}});
  ws.Add(op::PutCounters{Counters{6, 10, 78}});
  Apply(ws, Durability::kSync);

  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "fresh" : "reopened");
    auto user = store_->GetUser(5);
    ASSERT_TRUE(user.ok());
    EXPECT_EQ(user->name, "alice");
    EXPECT_EQ(user->password_hash, "$argon2id$h");
    EXPECT_EQ(user->created_ms, 111);
    EXPECT_EQ(*store_->FindUserByName("bob"), 6u);
    auto device = store_->FindDeviceByToken(digest);
    ASSERT_TRUE(device.ok());
    EXPECT_EQ(device->user_id, 5u);
    EXPECT_EQ(device->device_id, "phone");
    EXPECT_EQ(device->created_ms, 222);
    auto devices = store_->ListDevices(5);
    ASSERT_TRUE(devices.ok());
    ASSERT_EQ(devices->size(), 2u);
    EXPECT_EQ(devices->at(0).device_id, "laptop");  // by device id
    EXPECT_EQ(devices->at(1).device_id, "phone");
    EXPECT_TRUE(store_->ListDevices(6)->empty());

    auto conv = store_->GetConversation(10);
    ASSERT_TRUE(conv.ok());
    EXPECT_EQ(conv->kind, ConvKind::kGroup);
    EXPECT_EQ(conv->title, "g");
    EXPECT_EQ(conv->owner, 5u);
    EXPECT_TRUE(conv->read_fanout);
    EXPECT_EQ(store_->GetConversation(9)->kind, ConvKind::kDirect);
    auto head = store_->GetConvHead(9);
    EXPECT_EQ(head->last_seq, 2u);
    EXPECT_EQ(head->last_ms, 444);
    EXPECT_EQ(head->last_gseq, 77u);
    EXPECT_EQ(*store_->FindDirect(5, 6), 9u);
    EXPECT_EQ(*store_->FindDirect(6, 5), 9u);

    auto members = store_->ListMembers(10);
    ASSERT_TRUE(members.ok());
    ASSERT_EQ(members->size(), 2u);
    EXPECT_EQ(members->at(0).user_id, 5u);
    EXPECT_EQ(members->at(0).conv_id, 10u);
    EXPECT_EQ(members->at(0).role, Role::kOwner);
    EXPECT_EQ(members->at(1).role, Role::kAdmin);
    EXPECT_TRUE(members->at(1).read_fanout);
    auto member = store_->GetMember(9, 6);
    ASSERT_TRUE(member.ok());
    EXPECT_EQ(member->joined_ms, 556);
    auto mine = store_->ListUserConversations(6);
    ASSERT_TRUE(mine.ok());
    ASSERT_EQ(mine->size(), 2u);
    EXPECT_EQ(mine->at(0).conv_id, 9u);
    EXPECT_EQ(mine->at(0).user_id, 6u);
    EXPECT_EQ(mine->at(1).conv_id, 10u);
    EXPECT_EQ(mine->at(1).role, Role::kAdmin);

    auto got = store_->GetMessage(9, 1);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->msg_id, m1.msg_id);
    EXPECT_EQ(got->client_msg_id, m1.client_msg_id);
    EXPECT_EQ(got->body, m1.body);
    EXPECT_EQ(got->server_ms, m1.server_ms);
    EXPECT_FALSE(got->recalled);
    auto tomb = store_->GetMessage(9, 2);
    ASSERT_TRUE(tomb.ok());
    EXPECT_TRUE(tomb->recalled);
    EXPECT_EQ(tomb->recalled_by, 5u);
    EXPECT_EQ(tomb->recalled_ms, 999);
    EXPECT_EQ(tomb->kind, MessageKind::kCustom);
    EXPECT_TRUE(tomb->body.empty());
    std::vector<MessageKey> keys = {{9, 2}, {9, 3}, {10, 1}, {9, 1}};
    auto batch = store_->GetMessages(keys);
    ASSERT_EQ(batch.size(), 4u);
    ASSERT_TRUE(batch[0].ok());
    EXPECT_EQ(batch[0]->seq, 2u);
    EXPECT_EQ(batch[1].status().code(), Code::kNotFound);
    EXPECT_EQ(batch[2].status().code(), Code::kNotFound);
    ASSERT_TRUE(batch[3].ok());
    EXPECT_EQ(batch[3]->msg_id, m1.msg_id);
    EXPECT_TRUE(store_->GetMessages({}).empty());

    auto inbox = store_->ScanInbox(6, 0, 10);
    ASSERT_TRUE(inbox.ok());
    ASSERT_EQ(inbox->size(), 2u);
    EXPECT_EQ(inbox->at(0).type, EventType::kMemberJoined);
    EXPECT_EQ(inbox->at(0).subject, 6u);
    EXPECT_EQ(inbox->at(1).user_seq, 2u);
    EXPECT_EQ(inbox->at(1).type, EventType::kRecall);
    EXPECT_EQ(inbox->at(1).gseq, 78u);
    EXPECT_EQ(*store_->LastUserSeq(6), 2u);
    EXPECT_EQ(*store_->GetReadCursor(5, 9), 2u);
    EXPECT_EQ(*store_->GetReadCursor(6, 9), 0u);
    EXPECT_EQ(*store_->GetDeviceCursor(5, "phone"), 17u);
    EXPECT_EQ(*store_->GetDeviceCursor(5, "laptop"), 0u);
    auto dedup = store_->GetDedup(5, "cmid", 700);
    ASSERT_TRUE(dedup.ok());
    EXPECT_EQ(dedup->conv_id, 9u);
    EXPECT_EQ(dedup->seq, 1u);
    EXPECT_EQ(dedup->msg_id, 76u);
    EXPECT_EQ(dedup->server_ms, 700);
    EXPECT_EQ(dedup->expires_ms, 800);
    EXPECT_EQ(store_->GetDedup(6, "cmid", 700).status().code(), Code::kNotFound);
    auto changes = store_->ScanChanges(0, 10);
    ASSERT_TRUE(changes.ok());
    ASSERT_EQ(changes->size(), 2u);
    EXPECT_EQ(changes->at(0).gseq, 76u);
    EXPECT_EQ(changes->at(1).kind, ChangeKind::kRecall);
    EXPECT_EQ(changes->at(1).conv_seq, 2u);
    EXPECT_EQ(changes->at(1).ms, 701);
    auto counters = store_->LoadCounters();
    EXPECT_EQ(counters->last_user_id, 6u);
    EXPECT_EQ(counters->last_conv_id, 10u);
    EXPECT_EQ(counters->last_gseq, 78u);
    if (pass == 0) Reopen();
  }

  // Deletions.
  WriteSet del;
  del.Add(op::DeleteDevice{5, "phone", digest});
  del.Add(op::DeleteMember{9, 5});
  Apply(del);
  EXPECT_EQ(store_->FindDeviceByToken(digest).status().code(), Code::kNotFound);
  ASSERT_EQ(store_->ListDevices(5)->size(), 1u);
  EXPECT_EQ(*store_->GetDeviceCursor(5, "phone"), 0u);
  EXPECT_EQ(store_->GetMember(9, 5).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->ListMembers(9)->size(), 1u);
  EXPECT_EQ(store_->ListUserConversations(5)->size(), 1u);
  EXPECT_EQ(*store_->GetReadCursor(5, 9), 0u);  // goes with the membership
}

TEST_P(StoreConformance, LaterOperationsInOneWriteSetWin) {
  WriteSet ws;
  ws.Add(op::PutConvHead{1, ConvHead{1, 10, 100}});
  ws.Add(op::PutConvHead{1, ConvHead{2, 20, 200}});
  ws.Add(op::PutMember{MemberRecord{1, 2, Role::kMember, 1, false}});
  ws.Add(op::DeleteMember{1, 2});
  ws.Add(op::PutMember{MemberRecord{1, 3, Role::kMember, 1, false}});
  ws.Add(op::DeleteMember{1, 3});
  ws.Add(op::PutMember{MemberRecord{1, 3, Role::kAdmin, 2, false}});
  Apply(ws);
  EXPECT_EQ(store_->GetConvHead(1)->last_seq, 2u);
  EXPECT_EQ(store_->GetMember(1, 2).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetMember(1, 3)->role, Role::kAdmin);
}

TEST_P(StoreConformance, ScanMessagesBothDirectionsWithLimits) {
  // Neighbouring conversations, including ones whose ids differ in the low key byte only
  // and the largest id, must not leak into each other's scans.
  const std::vector<ConvId> convs = {1, 255, 256, 257, kMax - 1, kMax};
  WriteSet ws;
  for (ConvId c : convs) {
    for (Seq s = 1; s <= 100; ++s) ws.Add(op::PutMessage{Msg(c, s)});
  }
  Apply(ws);
  for (ConvId c : convs) {
    SCOPED_TRACE(test::Cat("conv ", c));
    EXPECT_EQ(MessageSeqs(c, 1, true, 10), Range(1, 10));
    EXPECT_EQ(MessageSeqs(c, 0, true, 3), Range(1, 3));
    EXPECT_EQ(MessageSeqs(c, 95, true, 10), Range(95, 100));
    EXPECT_EQ(MessageSeqs(c, 1, true, 1000), Range(1, 100));
    EXPECT_TRUE(MessageSeqs(c, 101, true, 10).empty());
    EXPECT_TRUE(MessageSeqs(c, 5, true, 0).empty());
    EXPECT_EQ(MessageSeqs(c, 100, false, 10), Range(100, 91));
    EXPECT_EQ(MessageSeqs(c, 5, false, 10), Range(5, 1));
    EXPECT_EQ(MessageSeqs(c, kMax, false, 3), Range(100, 98));
    EXPECT_EQ(MessageSeqs(c, 1000, false, 1000), Range(100, 1));
    EXPECT_TRUE(MessageSeqs(c, 0, false, 10).empty());
    EXPECT_TRUE(MessageSeqs(c, 50, false, 0).empty());
  }
  EXPECT_TRUE(MessageSeqs(2, 1, true, 10).empty());
  EXPECT_TRUE(MessageSeqs(2, kMax, false, 10).empty());
  EXPECT_TRUE(MessageSeqs(254, kMax, false, 10).empty());
  // Gaps are skipped, not filled.
  WriteSet sparse;
  for (Seq s : {3, 7, 300}) sparse.Add(op::PutMessage{Msg(2, s)});
  Apply(sparse);
  EXPECT_EQ(MessageSeqs(2, 4, true, 10), (std::vector<Seq>{7, 300}));
  EXPECT_EQ(MessageSeqs(2, 299, false, 10), (std::vector<Seq>{7, 3}));
}

TEST_P(StoreConformance, ScanInboxLastUserSeqAndTrimming) {
  WriteSet ws;
  for (UserId u : {7, 8, 256}) {
    for (Seq s = 1; s <= 50; ++s) ws.Add(op::PutInboxEvent{Event(u, s)});
  }
  Apply(ws);
  for (UserId u : {7, 8, 256}) {
    EXPECT_EQ(InboxSeqs(u, 0, 10), Range(1, 10));
    EXPECT_EQ(InboxSeqs(u, 45, 100), Range(46, 50));
    EXPECT_TRUE(InboxSeqs(u, 50, 100).empty());
    EXPECT_TRUE(InboxSeqs(u, kMax, 100).empty());
    EXPECT_TRUE(InboxSeqs(u, 3, 0).empty());
    EXPECT_EQ(*store_->LastUserSeq(u), 50u);
  }
  EXPECT_TRUE(InboxSeqs(9, 0, 10).empty());
  EXPECT_EQ(*store_->LastUserSeq(9), 0u);

  ASSERT_TRUE(store_->TrimInbox(7, 21).ok());
  EXPECT_EQ(*store_->InboxFloor(7), 21u);
  EXPECT_EQ(InboxSeqs(7, 0, 100), Range(21, 50));
  EXPECT_EQ(InboxSeqs(7, 30, 5), Range(31, 35));
  EXPECT_EQ(*store_->LastUserSeq(7), 50u);
  // A lower floor changes nothing.
  ASSERT_TRUE(store_->TrimInbox(7, 10).ok());
  EXPECT_EQ(*store_->InboxFloor(7), 21u);
  EXPECT_EQ(InboxSeqs(7, 0, 100).size(), 30u);
  // Trimming past the end keeps the numbering: the floor is one past the last event.
  ASSERT_TRUE(store_->TrimInbox(7, 1000).ok());
  EXPECT_EQ(*store_->InboxFloor(7), 51u);
  EXPECT_TRUE(InboxSeqs(7, 0, 100).empty());
  EXPECT_EQ(*store_->LastUserSeq(7), 50u);
  // Trimming a user who never had events is a no-op.
  ASSERT_TRUE(store_->TrimInbox(9, 5).ok());
  EXPECT_EQ(*store_->InboxFloor(9), 1u);
  // Other users are untouched.
  EXPECT_EQ(InboxSeqs(8, 0, 100), Range(1, 50));
  EXPECT_EQ(*store_->InboxFloor(8), 1u);

  Reopen();
  EXPECT_EQ(*store_->InboxFloor(7), 51u);
  EXPECT_EQ(*store_->LastUserSeq(7), 50u);
  EXPECT_TRUE(InboxSeqs(7, 0, 100).empty());
  // New events continue after the trimmed ones.
  WriteSet more;
  more.Add(op::PutInboxEvent{Event(7, 51)});
  Apply(more);
  EXPECT_EQ(InboxSeqs(7, 0, 100), Range(51, 51));
  EXPECT_EQ(*store_->LastUserSeq(7), 51u);
  EXPECT_EQ(InboxSeqs(256, 0, 100), Range(1, 50));
}

TEST_P(StoreConformance, DedupExpires) {
  WriteSet ws;
  ws.Add(op::PutDedup{3, "a", DedupRecord{1, 1, 10, 1000, 5000, ""}});
  ws.Add(op::PutDedup{3, "ab", DedupRecord{1, 2, 11, 1000, 9000, "digest"}});
  Apply(ws);
  EXPECT_TRUE(store_->GetDedup(3, "a", 0).ok());
  EXPECT_TRUE(store_->GetDedup(3, "a", 5000).ok());
  EXPECT_EQ(store_->GetDedup(3, "a", 5001).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetDedup(3, "a", std::numeric_limits<int64_t>::max()).status().code(),
            Code::kNotFound);
  auto ab = store_->GetDedup(3, "ab", 5001);
  ASSERT_TRUE(ab.ok());
  EXPECT_EQ(ab->seq, 2u);
  EXPECT_EQ(store_->GetDedup(3, "abc", 0).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetDedup(4, "a", 0).status().code(), Code::kNotFound);
}

TEST_P(StoreConformance, ScanChangesInGlobalOrder) {
  WriteSet ws;
  for (uint64_t g = 250; g <= 270; ++g) {
    ws.Add(op::PutChange{ChangeRecord{g, g % 2 ? ChangeKind::kRecall : ChangeKind::kMessage, g / 10,
                                      g, static_cast<int64_t>(g)}});
  }
  Apply(ws);
  auto seqs = [&](uint64_t after, size_t limit) {
    std::vector<uint64_t> out;
    auto r = store_->ScanChanges(after, limit);
    EXPECT_TRUE(r.ok());
    for (const auto& c : *r) {
      EXPECT_EQ(c.conv_seq, c.gseq);
      EXPECT_EQ(c.kind, c.gseq % 2 ? ChangeKind::kRecall : ChangeKind::kMessage);
      out.push_back(c.gseq);
    }
    return out;
  };
  EXPECT_EQ(seqs(0, 5), Range(250, 254));
  EXPECT_EQ(seqs(254, 3), Range(255, 257));
  EXPECT_EQ(seqs(265, 100), Range(266, 270));
  EXPECT_TRUE(seqs(270, 100).empty());
  EXPECT_TRUE(seqs(kMax, 100).empty());
  EXPECT_TRUE(seqs(0, 0).empty());
  EXPECT_EQ(seqs(0, 1000).size(), 21u);
}

TEST_P(StoreConformance, BothDurabilitiesSurviveReopen) {
  for (Seq s = 1; s <= 200; ++s) {
    WriteSet ws;
    ws.Add(op::PutMessage{Msg(4, s)});
    ws.Add(op::PutConvHead{4, ConvHead{s, 1000 + static_cast<int64_t>(s), s}});
    ws.Add(op::PutCounters{Counters{0, 4, s}});
    Apply(ws, s % 2 ? Durability::kSync : Durability::kBuffered);
  }
  Reopen();
  EXPECT_EQ(MessageSeqs(4, 1, true, 1000), Range(1, 200));
  EXPECT_EQ(store_->GetConvHead(4)->last_seq, 200u);
  EXPECT_EQ(store_->LoadCounters()->last_gseq, 200u);
}

TEST_P(StoreConformance, InvitesRoundTripSurviveReopenAndDelete) {
  const std::string digest(32, '\x07');
  EXPECT_EQ(store_->GetInvite(digest).status().code(), Code::kNotFound);
  InviteRecord invite{digest, 3, 123456789, 1000};
  ASSERT_TRUE(store_->PutInvite(invite).ok());
  Reopen();
  auto back = store_->GetInvite(digest);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->token_digest, digest);
  EXPECT_EQ(back->uses_left, 3u);
  EXPECT_EQ(back->expires_ms, 123456789);
  EXPECT_EQ(back->created_ms, 1000);
  ASSERT_TRUE(store_->DeleteInvite(digest).ok());
  Reopen();
  EXPECT_EQ(store_->GetInvite(digest).status().code(), Code::kNotFound);
}

TEST_P(StoreConformance, BlocksRoundTripListInOrderAndDelete) {
  EXPECT_EQ(store_->GetBlock(1, 2).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->ListBlocks(1)->empty());
  WriteSet ws;
  ws.Add(op::PutBlock{BlockRecord{1, 300, 30}});
  ws.Add(op::PutBlock{BlockRecord{1, 2, 20}});
  ws.Add(op::PutBlock{BlockRecord{1, 256, 25}});
  ws.Add(op::PutBlock{BlockRecord{2, 1, 40}});  // the other direction is another record
  Apply(ws);
  Reopen();
  auto block = store_->GetBlock(1, 2);
  ASSERT_TRUE(block.ok()) << block.status().ToString();
  EXPECT_EQ(block->blocker, 1u);
  EXPECT_EQ(block->blocked, 2u);
  EXPECT_EQ(block->created_ms, 20);
  EXPECT_EQ(store_->GetBlock(2, 1)->created_ms, 40);
  EXPECT_EQ(store_->GetBlock(2, 300).status().code(), Code::kNotFound);
  auto list = store_->ListBlocks(1);
  ASSERT_TRUE(list.ok());
  std::vector<UserId> blocked;
  for (const auto& b : *list) {
    EXPECT_EQ(b.blocker, 1u);
    blocked.push_back(b.blocked);
  }
  EXPECT_EQ(blocked, (std::vector<UserId>{2, 256, 300}));  // ascending by blocked user

  WriteSet del;
  del.Add(op::DeleteBlock{1, 256});
  Apply(del);
  EXPECT_EQ(store_->GetBlock(1, 256).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->ListBlocks(1)->size(), 2u);
  EXPECT_EQ(store_->ListBlocks(2)->size(), 1u);
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(StoreConformance);

}  // namespace
}  // namespace parley
