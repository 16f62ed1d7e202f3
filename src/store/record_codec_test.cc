#include "store/record_codec.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <tuple>

#include "common/codec.h"

namespace parley {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
const std::string kBinary("a\0b\xff\x80", 5);

auto Tie(const UserRecord& r) { return std::tie(r.id, r.name, r.password_hash, r.created_ms); }
auto Tie(const DeviceRecord& r) {
  return std::tie(r.user_id, r.device_id, r.token_digest, r.created_ms, r.last_seen_ms);
}
auto Tie(const ConversationRecord& r) {
  return std::tie(r.id, r.kind, r.title, r.owner, r.created_ms, r.member_count, r.read_fanout,
                  r.hidden_from);
}
auto Tie(const ConvHead& r) { return std::tie(r.last_seq, r.last_ms, r.last_gseq); }
auto Tie(const MemberRecord& r) {
  return std::tie(r.conv_id, r.user_id, r.role, r.joined_ms, r.read_fanout);
}
auto Tie(const MessageRecord& r) {
  return std::tie(r.conv_id, r.seq, r.msg_id, r.sender, r.sender_device, r.client_msg_id, r.kind,
                  r.body, r.server_ms, r.recalled, r.recalled_by, r.recalled_ms, r.edited_ms);
}
auto Tie(const InboxEvent& r) {
  return std::tie(r.user_id, r.user_seq, r.type, r.conv_id, r.conv_seq, r.actor, r.subject, r.ms,
                  r.gseq);
}
auto Tie(const DedupRecord& r) {
  return std::tie(r.conv_id, r.seq, r.msg_id, r.server_ms, r.expires_ms, r.request_digest);
}
auto Tie(const ChangeRecord& r) { return std::tie(r.gseq, r.kind, r.conv_id, r.conv_seq, r.ms); }
auto Tie(const Counters& r) { return std::tie(r.last_user_id, r.last_conv_id, r.last_gseq); }

// Encodes `rec`, checks it decodes back equal, and that every damaged variant fails with
// kCorruption: each strict prefix, an empty value, and unknown format versions.
template <typename T>
void CheckCodec(const T& rec, void (*encode)(const T&, std::string*),
                const std::function<Result<T>(std::string_view)>& decode, char format = '\x01') {
  std::string bytes;
  encode(rec, &bytes);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes[0], format) << "format version";
  auto back = decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Tie(*back), Tie(rec));
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto r = decode(std::string_view(bytes).substr(0, cut));
    EXPECT_FALSE(r.ok()) << "decoded a value cut at " << cut << " of " << bytes.size();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kCorruption);
    }
  }
  for (char version : {'\x00', static_cast<char>(format + 1), '\xff'}) {
    std::string other = bytes;
    other[0] = version;
    auto r = decode(other);
    EXPECT_FALSE(r.ok()) << "accepted format version " << static_cast<int>(version);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kCorruption);
    }
  }
  // Encoding appends: a second record after the first does not disturb it.
  std::string two = bytes;
  encode(rec, &two);
  EXPECT_EQ(two.size(), 2 * bytes.size());
}

TEST(RecordCodec, User) {
  CheckCodec<UserRecord>({42, "alice", "$argon2id$v=19$xyz", 1700000000123}, EncodeUser,
                         DecodeUser);
  CheckCodec<UserRecord>({kMax, kBinary, "", kMin64}, EncodeUser, DecodeUser);
  CheckCodec<UserRecord>({}, EncodeUser, DecodeUser);
}

TEST(RecordCodec, Device) {
  CheckCodec<DeviceRecord>({7, "phone", std::string(32, '\xab'), -1, 5}, EncodeDevice, DecodeDevice,
                           '\x02');
  CheckCodec<DeviceRecord>({0, "", kBinary, 0, kMin64}, EncodeDevice, DecodeDevice, '\x02');
}

// Device records written before token expiry (format 1, no last_seen_ms) still decode,
// last seen when created: stores of the old build open and their tokens keep working.
TEST(RecordCodec, DeviceFormat1StillDecodes) {
  std::string v1;
  Writer w(&v1);
  w.U8(1);
  w.Varint(7);
  w.Bytes("phone");
  w.Bytes(std::string(32, '\xab'));
  w.SignedVarint(1234567);
  auto d = DecodeDevice(v1);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->user_id, 7u);
  EXPECT_EQ(d->device_id, "phone");
  EXPECT_EQ(d->token_digest, std::string(32, '\xab'));
  EXPECT_EQ(d->created_ms, 1234567);
  EXPECT_EQ(d->last_seen_ms, 1234567);
  // Truncated or of an unknown format: corruption, never a misread.
  EXPECT_EQ(DecodeDevice(v1.substr(0, v1.size() - 1)).status().code(), Code::kCorruption);
  v1[0] = 3;
  EXPECT_EQ(DecodeDevice(v1).status().code(), Code::kCorruption);
}

TEST(RecordCodec, Conversation) {
  CheckCodec<ConversationRecord>({9, ConvKind::kGroup, "Team 🚀", 3, 1700000000000, 5000, true},
                                 EncodeConversation, DecodeConversation);
  CheckCodec<ConversationRecord>({kMax, ConvKind::kDirect, "", 0, kMin64, 0xffffffffu, false},
                                 EncodeConversation, DecodeConversation);
  for (uint8_t kind : {0, 3, 255}) {
    std::string bytes;
    EncodeConversation({1, static_cast<ConvKind>(kind), "t", 1, 1, 1, false}, &bytes);
    EXPECT_EQ(DecodeConversation(bytes).status().code(), Code::kCorruption) << int{kind};
  }
}

// hidden_from is appended only when set: a record without it keeps the bytes of before the
// field, and such bytes decode as 0.
TEST(RecordCodec, ConversationHiddenFrom) {
  ConversationRecord plain{7, ConvKind::kDirect, "", 0, 1700000000000, 2, false};
  ConversationRecord hidden = plain;
  hidden.hidden_from = 42;
  std::string old_bytes, new_bytes;
  EncodeConversation(plain, &old_bytes);
  EncodeConversation(hidden, &new_bytes);
  ASSERT_GT(new_bytes.size(), old_bytes.size());
  EXPECT_EQ(new_bytes.substr(0, old_bytes.size()), old_bytes);
  auto back = DecodeConversation(new_bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Tie(*back), Tie(hidden));
  auto old = DecodeConversation(old_bytes);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->hidden_from, 0u);
  new_bytes.back() = '\x80';  // a cut varint
  EXPECT_EQ(DecodeConversation(new_bytes).status().code(), Code::kCorruption);
}

TEST(RecordCodec, Block) {
  for (int64_t ms : {int64_t{0}, int64_t{1700000000000}, kMin64}) {
    std::string bytes;
    EncodeBlock(BlockRecord{3, 4, ms}, &bytes);
    ASSERT_EQ(bytes[0], '\x01');
    auto back = DecodeBlock(bytes, 3, 4);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->blocker, 3u);
    EXPECT_EQ(back->blocked, 4u);
    EXPECT_EQ(back->created_ms, ms);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      EXPECT_EQ(DecodeBlock(bytes.substr(0, cut), 3, 4).status().code(), Code::kCorruption);
    }
    bytes[0] = '\x02';
    EXPECT_EQ(DecodeBlock(bytes, 3, 4).status().code(), Code::kCorruption);
  }
}

TEST(RecordCodec, ConvHead) {
  CheckCodec<ConvHead>({100, 1700000000000, 12345}, EncodeConvHead, DecodeConvHead);
  CheckCodec<ConvHead>({}, EncodeConvHead, DecodeConvHead);
  CheckCodec<ConvHead>({kMax, kMin64, kMax}, EncodeConvHead, DecodeConvHead);
}

TEST(RecordCodec, MemberTakesItsIdsFromTheKey) {
  for (Role role : {Role::kMember, Role::kAdmin, Role::kOwner}) {
    MemberRecord m{11, 22, role, 1700000000000, role == Role::kAdmin};
    CheckCodec<MemberRecord>(m, EncodeMember,
                             [](std::string_view in) { return DecodeMember(in, 11, 22); });
  }
  std::string bytes;
  EncodeMember({11, 22, Role::kAdmin, 5, false}, &bytes);
  auto other_key = DecodeMember(bytes, 33, 44);
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ(other_key->conv_id, 33u);
  EXPECT_EQ(other_key->user_id, 44u);
  bytes.clear();
  EncodeMember({1, 2, static_cast<Role>(3), 5, false}, &bytes);
  EXPECT_EQ(DecodeMember(bytes, 1, 2).status().code(), Code::kCorruption);
}

TEST(RecordCodec, Message) {
  auto decode = [](std::string_view in) { return DecodeMessage(in, 5, 77); };
  MessageRecord text{
      5,     77, 1234, 9, "laptop", "cmid-1", MessageKind::kText, "héllo 消息", 1700000000000,
      false, 0,  0,    0};
  CheckCodec<MessageRecord>(text, EncodeMessage, decode, '\x02');
  MessageRecord custom = text;
  custom.kind = MessageKind::kCustom;
  custom.body = R"({"type":"image","url":"x"})";
  CheckCodec<MessageRecord>(custom, EncodeMessage, decode, '\x02');
  MessageRecord recalled = text;
  recalled.recalled = true;
  recalled.recalled_by = 3;
  recalled.recalled_ms = 1700000000999;
  recalled.body.clear();
  CheckCodec<MessageRecord>(recalled, EncodeMessage, decode, '\x02');
  MessageRecord edited = text;
  edited.body = "héllo, edited";
  edited.edited_ms = 1700000000555;
  CheckCodec<MessageRecord>(edited, EncodeMessage, decode, '\x02');
  edited.edited_ms = kMin64;
  CheckCodec<MessageRecord>(edited, EncodeMessage, decode, '\x02');
  MessageRecord big = text;
  big.body = std::string(100000, 'x');
  big.msg_id = kMax;
  CheckCodec<MessageRecord>(big, EncodeMessage, decode, '\x02');
}

// Format 1, byte for byte as servers wrote messages before edits existed: it must still
// decode (as never edited), so stored history survives the upgrade.
std::string EncodeMessageV1(const MessageRecord& v) {
  std::string out;
  Writer w(&out);
  w.U8(1);
  w.Varint(v.msg_id);
  w.Varint(v.sender);
  w.Bytes(v.sender_device);
  w.Bytes(v.client_msg_id);
  w.U8(static_cast<uint8_t>(v.kind));
  w.SignedVarint(v.server_ms);
  w.U8(v.recalled ? 1 : 0);
  if (v.recalled) {
    w.Varint(v.recalled_by);
    w.SignedVarint(v.recalled_ms);
  }
  w.Bytes(v.body);
  return out;
}

TEST(RecordCodec, MessagesWrittenBeforeEditsStillDecode) {
  MessageRecord text{
      5,     77, 1234, 9, "laptop", "cmid-1", MessageKind::kText, "héllo 消息", 1700000000000,
      false, 0,  0,    0};
  MessageRecord recalled = text;
  recalled.recalled = true;
  recalled.recalled_by = 3;
  recalled.recalled_ms = 1700000000999;
  recalled.body.clear();
  for (const MessageRecord& old : {text, recalled}) {
    const std::string v1 = EncodeMessageV1(old);
    auto back = DecodeMessage(v1, 5, 77);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(Tie(*back), Tie(old));
    EXPECT_EQ(back->edited_ms, 0);
    for (size_t cut = 0; cut < v1.size(); ++cut) {
      EXPECT_EQ(DecodeMessage(std::string_view(v1).substr(0, cut), 5, 77).status().code(),
                Code::kCorruption)
          << "cut at " << cut;
    }
    // Written back, it is format 2 and keeps every field.
    std::string v2;
    EncodeMessage(*back, &v2);
    EXPECT_EQ(v2[0], '\x02');
    EXPECT_EQ(v2.substr(1, v1.size() - 1), v1.substr(1));
    EXPECT_EQ(Tie(*DecodeMessage(v2, 5, 77)), Tie(old));
  }
}

TEST(RecordCodec, InboxEvent) {
  auto decode = [](std::string_view in) { return DecodeInboxEvent(in, 8, 99); };
  for (EventType type : {EventType::kMessage, EventType::kRecall, EventType::kRead,
                         EventType::kReceipt, EventType::kMemberJoined, EventType::kMemberLeft,
                         EventType::kConvUpdated, EventType::kEdit}) {
    CheckCodec<InboxEvent>({8, 99, type, 5, 77, 9, 10, 1700000000000, 1234}, EncodeInboxEvent,
                           decode);
  }
  CheckCodec<InboxEvent>({8, 99, EventType::kMessage, kMax, kMax, kMax, kMax, kMin64, kMax},
                         EncodeInboxEvent, decode);
}

TEST(RecordCodec, DedupChangeCountersAndNumbers) {
  CheckCodec<DedupRecord>({5, 77, 1234, 1700000000000, 1700000000000 + 7LL * 86400000, ""},
                          EncodeDedup, DecodeDedup);
  CheckCodec<DedupRecord>({}, EncodeDedup, DecodeDedup);
  auto change = [](std::string_view in) { return DecodeChange(in, 4321); };
  CheckCodec<ChangeRecord>({4321, ChangeKind::kMessage, 5, 77, 1700000000000}, EncodeChange,
                           change);
  CheckCodec<ChangeRecord>({4321, ChangeKind::kRecall, kMax, kMax, -5}, EncodeChange, change);
  CheckCodec<ChangeRecord>({4321, ChangeKind::kEdit, 5, 77, 1700000000001}, EncodeChange, change);
  CheckCodec<Counters>({10, 20, 30}, EncodeCounters, DecodeCounters);
  CheckCodec<Counters>({kMax, kMax, kMax}, EncodeCounters, DecodeCounters);

  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, kMax}) {
    std::string bytes;
    EncodeU64(v, &bytes);
    auto back = DecodeU64(bytes);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, v);
    EXPECT_EQ(DecodeU64(std::string_view(bytes).substr(0, bytes.size() - 1)).status().code(),
              Code::kCorruption);
  }
  EXPECT_EQ(DecodeU64(std::string(11, '\xff')).status().code(), Code::kCorruption);
}

// Dedup records gained a trailing request digest (issue 10, item 14): records of the old
// format still decode (empty digest), new ones round-trip, and a cut digest is corruption.
TEST(RecordCodec, DedupDigestIsABackwardCompatibleTrailer) {
  DedupRecord old{5, 77, 1234, 1700000000000, 1700000000000 + 7LL * 86400000, ""};
  std::string old_bytes;
  EncodeDedup(old, &old_bytes);
  // The old encoding, written field by field as the previous build did.
  std::string legacy;
  Writer w(&legacy);
  w.U8(1);
  w.Varint(5);
  w.Varint(77);
  w.Varint(1234);
  w.SignedVarint(1700000000000);
  w.SignedVarint(1700000000000 + 7LL * 86400000);
  EXPECT_EQ(old_bytes, legacy);
  auto back = DecodeDedup(legacy);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->request_digest.empty());

  DedupRecord rec = old;
  rec.request_digest = std::string("\x01\x02\0\xff digest bytes", 17);
  std::string bytes;
  EncodeDedup(rec, &bytes);
  EXPECT_EQ(bytes.compare(0, legacy.size(), legacy), 0) << "the old fields come first";
  auto full = DecodeDedup(bytes);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(Tie(*full), Tie(rec));
  for (size_t cut = legacy.size() + 1; cut < bytes.size(); ++cut) {
    EXPECT_EQ(DecodeDedup(std::string_view(bytes).substr(0, cut)).status().code(),
              Code::kCorruption)
        << cut;
  }
}

TEST(RecordCodec, GarbageNeverCrashes) {
  // Deterministic pseudo-random bytes: decoders must fail cleanly or succeed, never crash.
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes;
    size_t n = i % 40;
    for (size_t j = 0; j < n; ++j) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bytes.push_back(static_cast<char>(x));
    }
    if (i % 2 == 0 && !bytes.empty()) bytes[0] = '\x01';
    auto check = [](const Status& s) {
      EXPECT_TRUE(s.ok() || s.code() == Code::kCorruption) << s.ToString();
    };
    check(DecodeUser(bytes).status());
    check(DecodeDevice(bytes).status());
    check(DecodeConversation(bytes).status());
    check(DecodeConvHead(bytes).status());
    check(DecodeMember(bytes, 1, 2).status());
    check(DecodeMessage(bytes, 1, 2).status());
    check(DecodeInboxEvent(bytes, 1, 2).status());
    check(DecodeDedup(bytes).status());
    check(DecodeChange(bytes, 3).status());
    check(DecodeCounters(bytes).status());
    check(DecodeBlock(bytes, 1, 2).status());
    check(DecodeU64(bytes).status());
  }
}

}  // namespace
}  // namespace parley
