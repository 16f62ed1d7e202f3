#include "cluster/notice_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "cluster/hint_bus.h"

namespace parley::cluster {
namespace {

CommitNotice SampleNotice() {
  CommitNotice n;
  n.committed_gseq = 12345;
  n.events.push_back(InboxEvent{7, 3, EventType::kMessage, 11, 42, 7, 0, 1700000000123, 12345});
  n.events.push_back(InboxEvent{8, 9, EventType::kMemberJoined, 11, 0, 7, 8, -5, 12344});
  MessageRecord m;
  m.conv_id = 11;
  m.seq = 42;
  m.msg_id = 99;
  m.sender = 7;
  m.sender_device = "phone";
  m.client_msg_id = "c-1";
  m.body = "héllo";
  m.server_ms = 1700000000123;
  m.edited_ms = 5;
  n.messages.push_back(m);
  HeadMoved h;
  h.conv_id = 500;
  h.last_seq = 77;
  h.last_ms = 1700000000999;
  h.gseq = 12345;
  h.members = std::make_shared<const std::vector<UserId>>(std::vector<UserId>{1, 2, 300000});
  n.head_moves.push_back(h);
  n.origins = {5, 6};  // local: not sent
  n.tasks = 3;
  return n;
}

TEST(NoticeCodec, RoundTripsEventsMessagesAndHeads) {
  const CommitNotice n = SampleNotice();
  std::string wire;
  EncodeHint("node-a", n, &wire);
  auto hint = DecodeHint(wire);
  ASSERT_TRUE(hint.ok()) << hint.status().ToString();
  EXPECT_EQ(hint->origin_node, "node-a");
  const CommitNotice& d = hint->notice;
  EXPECT_EQ(d.committed_gseq, 12345u);
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].user_id, 7u);
  EXPECT_EQ(d.events[0].user_seq, 3u);
  EXPECT_EQ(d.events[0].conv_seq, 42u);
  EXPECT_EQ(d.events[0].ms, 1700000000123);
  EXPECT_EQ(d.events[1].type, EventType::kMemberJoined);
  EXPECT_EQ(d.events[1].subject, 8u);
  EXPECT_EQ(d.events[1].ms, -5);
  ASSERT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.messages[0].body, "héllo");
  EXPECT_EQ(d.messages[0].sender_device, "phone");
  EXPECT_EQ(d.messages[0].seq, 42u);
  EXPECT_EQ(d.messages[0].edited_ms, 5);
  ASSERT_EQ(d.head_moves.size(), 1u);
  EXPECT_EQ(d.head_moves[0].last_seq, 77u);
  ASSERT_NE(d.head_moves[0].members, nullptr);
  EXPECT_EQ(*d.head_moves[0].members, (std::vector<UserId>{1, 2, 300000}));
  EXPECT_TRUE(d.origins.empty());  // session ids of another node mean nothing here
  EXPECT_EQ(d.tasks, 0u);
}

TEST(NoticeCodec, EveryTruncationIsRefused) {
  std::string wire;
  EncodeHint("node-a", SampleNotice(), &wire);
  for (size_t len = 0; len < wire.size(); ++len) {
    EXPECT_FALSE(DecodeHint(std::string_view(wire).substr(0, len)).ok()) << "length " << len;
  }
  EXPECT_FALSE(DecodeHint(wire + "x").ok()) << "trailing bytes";
}

TEST(NoticeCodec, GarbageNeverDecodesToSomethingHuge) {
  std::mt19937 rng(42);
  size_t decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0 && !junk.empty()) junk[0] = 1;  // right format byte: deeper paths
    auto hint = DecodeHint(junk);
    if (!hint.ok()) continue;
    ++decoded;
    EXPECT_LE(hint->notice.events.size(), junk.size());
  }
  EXPECT_LT(decoded, 20000u);
}

TEST(NoticeCodec, ForgedCountsAreRefusedBeforeAllocating) {
  std::string wire;
  wire.push_back(1);                                   // format
  wire.push_back(1);                                   // origin length
  wire.push_back('a');                                 // origin
  wire.push_back(0);                                   // committed_gseq
  wire.append("\xff\xff\xff\xff\xff\xff\xff\x7f", 8);  // 2^56-ish events
  auto hint = DecodeHint(wire);
  ASSERT_FALSE(hint.ok());
  EXPECT_EQ(hint.status().code(), Code::kCorruption);
  EXPECT_FALSE(DecodeHint(std::string(kMaxHintBytes + 1, '\x01')).ok());
}

TEST(NoticeCodec, WrongFormatByteIsRefused) {
  std::string wire;
  EncodeHint("n", SampleNotice(), &wire);
  wire[0] = 2;
  EXPECT_FALSE(DecodeHint(wire).ok());
}

TEST(HintPayloads, TypingAndRevokeRoundTripAndRefuseTruncation) {
  std::string wire;
  EncodeTyping("n1", TypingHint{{4, 5}, 3, "{\"push\":\"typing\"}"}, &wire);
  std::string origin;
  auto typing = DecodeTyping(wire, &origin);
  ASSERT_TRUE(typing.ok());
  EXPECT_EQ(origin, "n1");
  EXPECT_EQ(typing->users, (std::vector<UserId>{4, 5}));
  EXPECT_EQ(typing->sender, 3u);
  EXPECT_EQ(typing->frame, "{\"push\":\"typing\"}");
  for (size_t len = 0; len < wire.size(); ++len) {
    EXPECT_FALSE(DecodeTyping(wire.substr(0, len), &origin).ok());
  }
  wire.clear();
  EncodeRevoke("n2", RevokeHint{9, RevokeScope::kOtherDevices, "laptop"}, &wire);
  auto revoke = DecodeRevoke(wire, &origin);
  ASSERT_TRUE(revoke.ok());
  EXPECT_EQ(origin, "n2");
  EXPECT_EQ(revoke->user, 9u);
  EXPECT_EQ(revoke->scope, RevokeScope::kOtherDevices);
  EXPECT_EQ(revoke->device, "laptop");
  for (size_t len = 0; len < wire.size(); ++len) {
    EXPECT_FALSE(DecodeRevoke(wire.substr(0, len), &origin).ok());
  }
  std::string bad_scope = wire;
  bad_scope[1 + 1 + 2 + 1] = 7;  // format, origin len, "n2", user → scope byte
  EXPECT_FALSE(DecodeRevoke(bad_scope, &origin).ok());
}

}  // namespace
}  // namespace parley::cluster
