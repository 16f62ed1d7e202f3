#include "store/record_codec.h"

#include "common/codec.h"
#include "common/crypto.h"

namespace parley {
namespace {

constexpr uint8_t kFormat = 1;
// Messages are at format 2, which appends edited_ms. Format 1 (written before edits
// existed) still decodes, as never edited; an older server refuses format 2 loudly
// rather than misreading it.
constexpr uint8_t kMessageFormatV1 = 1;
constexpr uint8_t kMessageFormat = 2;
// Devices are at format 2, which appends last_seen_ms. Format 1 (before token expiry)
// still decodes, with last_seen_ms = created_ms; an older server refuses format 2.
constexpr uint8_t kDeviceFormatV1 = 1;
constexpr uint8_t kDeviceFormat = 2;

Status Corrupt(const char* what) { return Status(Code::kCorruption, std::string("bad ") + what); }

// Starts a value: checks the format byte.
bool Begin(Reader& r) { return r.U8() == kFormat && r.ok(); }

}  // namespace

void EncodeUser(const UserRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Varint(v.id);
  w.Bytes(v.name);
  w.Bytes(v.password_hash);
  w.SignedVarint(v.created_ms);
}

Result<UserRecord> DecodeUser(std::string_view in) {
  Reader r(in);
  UserRecord v;
  if (!Begin(r)) return Corrupt("user");
  v.id = r.Varint();
  v.name = r.Bytes();
  v.password_hash = r.Bytes();
  v.created_ms = r.SignedVarint();
  if (!r.ok()) return Corrupt("user");
  return v;
}

void EncodeDevice(const DeviceRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kDeviceFormat);
  w.Varint(v.user_id);
  w.Bytes(v.device_id);
  w.Bytes(v.token_digest);
  w.SignedVarint(v.created_ms);
  w.SignedVarint(v.last_seen_ms);
}

Result<DeviceRecord> DecodeDevice(std::string_view in) {
  Reader r(in);
  DeviceRecord v;
  const uint8_t format = r.U8();
  if (!r.ok() || (format != kDeviceFormatV1 && format != kDeviceFormat)) {
    return Corrupt("device");
  }
  v.user_id = r.Varint();
  v.device_id = r.Bytes();
  v.token_digest = r.Bytes();
  v.created_ms = r.SignedVarint();
  v.last_seen_ms = format >= kDeviceFormat ? r.SignedVarint() : v.created_ms;
  if (!r.ok()) return Corrupt("device");
  return v;
}

void EncodeInvite(const InviteRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Varint(v.uses_left);
  w.SignedVarint(v.expires_ms);
  w.SignedVarint(v.created_ms);
}

Result<InviteRecord> DecodeInvite(std::string_view in, std::string_view token_digest) {
  Reader r(in);
  InviteRecord v;
  if (!Begin(r)) return Corrupt("invite");
  v.token_digest = std::string(token_digest);
  const uint64_t uses = r.Varint();
  v.expires_ms = r.SignedVarint();
  v.created_ms = r.SignedVarint();
  if (!r.ok() || uses > UINT32_MAX) return Corrupt("invite");
  v.uses_left = static_cast<uint32_t>(uses);
  return v;
}

void EncodeConversation(const ConversationRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Varint(v.id);
  w.U8(static_cast<uint8_t>(v.kind));
  w.Bytes(v.title);
  w.Varint(v.owner);
  w.SignedVarint(v.created_ms);
  w.Varint(v.member_count);
  w.U8(v.read_fanout ? 1 : 0);
  // Appended field: written only when set, so records without it keep their old bytes and
  // a record from before the field decodes as 0.
  if (v.hidden_from != 0) w.Varint(v.hidden_from);
}

Result<ConversationRecord> DecodeConversation(std::string_view in) {
  Reader r(in);
  ConversationRecord v;
  if (!Begin(r)) return Corrupt("conversation");
  v.id = r.Varint();
  v.kind = static_cast<ConvKind>(r.U8());
  v.title = r.Bytes();
  v.owner = r.Varint();
  v.created_ms = r.SignedVarint();
  v.member_count = static_cast<uint32_t>(r.Varint());
  v.read_fanout = r.U8() != 0;
  if (r.ok() && !r.done()) v.hidden_from = r.Varint();
  if (!r.ok() || (v.kind != ConvKind::kDirect && v.kind != ConvKind::kGroup)) {
    return Corrupt("conversation");
  }
  return v;
}

void EncodeConvHead(const ConvHead& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Varint(v.last_seq);
  w.SignedVarint(v.last_ms);
  w.Varint(v.last_gseq);
}

Result<ConvHead> DecodeConvHead(std::string_view in) {
  Reader r(in);
  ConvHead v;
  if (!Begin(r)) return Corrupt("conversation head");
  v.last_seq = r.Varint();
  v.last_ms = r.SignedVarint();
  v.last_gseq = r.Varint();
  if (!r.ok()) return Corrupt("conversation head");
  return v;
}

void EncodeMember(const MemberRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.U8(static_cast<uint8_t>(v.role));
  w.SignedVarint(v.joined_ms);
  w.U8(v.read_fanout ? 1 : 0);
}

Result<MemberRecord> DecodeMember(std::string_view in, ConvId conv, UserId user) {
  Reader r(in);
  MemberRecord v;
  if (!Begin(r)) return Corrupt("member");
  v.conv_id = conv;
  v.user_id = user;
  v.role = static_cast<Role>(r.U8());
  v.joined_ms = r.SignedVarint();
  v.read_fanout = r.U8() != 0;
  if (!r.ok() || static_cast<uint8_t>(v.role) > 2) return Corrupt("member");
  return v;
}

void EncodeMessage(const MessageRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kMessageFormat);
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
  w.SignedVarint(v.edited_ms);
}

Result<MessageRecord> DecodeMessage(std::string_view in, ConvId conv, Seq seq) {
  Reader r(in);
  MessageRecord v;
  const uint8_t format = r.U8();
  if (!r.ok() || (format != kMessageFormatV1 && format != kMessageFormat)) {
    return Corrupt("message");
  }
  v.conv_id = conv;
  v.seq = seq;
  v.msg_id = r.Varint();
  v.sender = r.Varint();
  v.sender_device = r.Bytes();
  v.client_msg_id = r.Bytes();
  v.kind = static_cast<MessageKind>(r.U8());
  v.server_ms = r.SignedVarint();
  v.recalled = r.U8() != 0;
  if (v.recalled) {
    v.recalled_by = r.Varint();
    v.recalled_ms = r.SignedVarint();
  }
  v.body = r.Bytes();
  if (format >= kMessageFormat) v.edited_ms = r.SignedVarint();
  if (!r.ok()) return Corrupt("message");
  return v;
}

void EncodeInboxEvent(const InboxEvent& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.U8(static_cast<uint8_t>(v.type));
  w.Varint(v.conv_id);
  w.Varint(v.conv_seq);
  w.Varint(v.actor);
  w.Varint(v.subject);
  w.SignedVarint(v.ms);
  w.Varint(v.gseq);
}

Result<InboxEvent> DecodeInboxEvent(std::string_view in, UserId user, Seq user_seq) {
  Reader r(in);
  InboxEvent v;
  if (!Begin(r)) return Corrupt("inbox event");
  v.user_id = user;
  v.user_seq = user_seq;
  v.type = static_cast<EventType>(r.U8());
  v.conv_id = r.Varint();
  v.conv_seq = r.Varint();
  v.actor = r.Varint();
  v.subject = r.Varint();
  v.ms = r.SignedVarint();
  v.gseq = r.Varint();
  if (!r.ok()) return Corrupt("inbox event");
  return v;
}

void EncodeDedup(const DedupRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Varint(v.conv_id);
  w.Varint(v.seq);
  w.Varint(v.msg_id);
  w.SignedVarint(v.server_ms);
  w.SignedVarint(v.expires_ms);
  // Appended, and only when known: a record without it is byte-for-byte the old format,
  // and older servers (which ignore trailing bytes) still read the new one.
  if (!v.request_digest.empty()) w.Bytes(v.request_digest);
}

std::string SendRequestDigest(MessageKind kind, std::string_view body) {
  std::string data(1, static_cast<char>(kind));
  data.append(body);
  return Digest(data).substr(0, 16);
}

Result<DedupRecord> DecodeDedup(std::string_view in) {
  Reader r(in);
  DedupRecord v;
  if (!Begin(r)) return Corrupt("dedup");
  v.conv_id = r.Varint();
  v.seq = r.Varint();
  v.msg_id = r.Varint();
  v.server_ms = r.SignedVarint();
  v.expires_ms = r.SignedVarint();
  if (r.ok() && !r.done()) v.request_digest = std::string(r.Bytes());
  if (!r.ok()) return Corrupt("dedup");
  return v;
}

void EncodeChange(const ChangeRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.U8(static_cast<uint8_t>(v.kind));
  w.Varint(v.conv_id);
  w.Varint(v.conv_seq);
  w.SignedVarint(v.ms);
}

Result<ChangeRecord> DecodeChange(std::string_view in, uint64_t gseq) {
  Reader r(in);
  ChangeRecord v;
  if (!Begin(r)) return Corrupt("change");
  v.gseq = gseq;
  v.kind = static_cast<ChangeKind>(r.U8());
  v.conv_id = r.Varint();
  v.conv_seq = r.Varint();
  v.ms = r.SignedVarint();
  if (!r.ok()) return Corrupt("change");
  return v;
}

void EncodeBlock(const BlockRecord& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.SignedVarint(v.created_ms);
}

Result<BlockRecord> DecodeBlock(std::string_view in, UserId blocker, UserId blocked) {
  Reader r(in);
  BlockRecord v;
  if (!Begin(r)) return Corrupt("block");
  v.blocker = blocker;
  v.blocked = blocked;
  v.created_ms = r.SignedVarint();
  if (!r.ok()) return Corrupt("block");
  return v;
}

void EncodeCounters(const Counters& v, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Varint(v.last_user_id);
  w.Varint(v.last_conv_id);
  w.Varint(v.last_gseq);
}

Result<Counters> DecodeCounters(std::string_view in) {
  Reader r(in);
  Counters v;
  if (!Begin(r)) return Corrupt("counters");
  v.last_user_id = r.Varint();
  v.last_conv_id = r.Varint();
  v.last_gseq = r.Varint();
  if (!r.ok()) return Corrupt("counters");
  return v;
}

void EncodeU64(uint64_t v, std::string* out) { Writer(out).Varint(v); }

Result<uint64_t> DecodeU64(std::string_view in) {
  Reader r(in);
  uint64_t v = r.Varint();
  if (!r.ok()) return Corrupt("number");
  return v;
}

}  // namespace parley
