// Value encodings of every record, shared by engines that store opaque bytes.
//
// Each value starts with a one-byte format version (1; messages 2) so records can evolve;
// the rest is varints and length-prefixed strings (common/codec.h). Decode* returns
// Code::kCorruption on anything it cannot read.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "model/records.h"

namespace parley {

void EncodeUser(const UserRecord& r, std::string* out);
Result<UserRecord> DecodeUser(std::string_view in);

void EncodeDevice(const DeviceRecord& r, std::string* out);
Result<DeviceRecord> DecodeDevice(std::string_view in);
// The digest is the key, not part of the value: decoding takes it back.
void EncodeInvite(const InviteRecord& r, std::string* out);
Result<InviteRecord> DecodeInvite(std::string_view in, std::string_view token_digest);

void EncodeConversation(const ConversationRecord& r, std::string* out);
Result<ConversationRecord> DecodeConversation(std::string_view in);

void EncodeConvHead(const ConvHead& r, std::string* out);
Result<ConvHead> DecodeConvHead(std::string_view in);

// Member values omit the ids, which live in the key.
void EncodeMember(const MemberRecord& r, std::string* out);
Result<MemberRecord> DecodeMember(std::string_view in, ConvId conv, UserId user);

// Message values omit (conv_id, seq), which live in the key. Decodes format 1 (before
// edits existed: edited_ms 0) and 2.
void EncodeMessage(const MessageRecord& r, std::string* out);
Result<MessageRecord> DecodeMessage(std::string_view in, ConvId conv, Seq seq);

// Inbox values omit (user_id, user_seq), which live in the key.
void EncodeInboxEvent(const InboxEvent& r, std::string* out);
Result<InboxEvent> DecodeInboxEvent(std::string_view in, UserId user, Seq user_seq);

// The request digest is an optional trailing field: values written before it existed (or
// without one) decode with an empty digest.
void EncodeDedup(const DedupRecord& r, std::string* out);
// DedupRecord::request_digest of a send of `body` as `kind`: 16 bytes of BLAKE2b over the
// kind byte and the body (collisions are out of reach).
std::string SendRequestDigest(MessageKind kind, std::string_view body);
Result<DedupRecord> DecodeDedup(std::string_view in);

void EncodeChange(const ChangeRecord& r, std::string* out);
Result<ChangeRecord> DecodeChange(std::string_view in, uint64_t gseq);

// Block values omit (blocker, blocked), which live in the key.
void EncodeBlock(const BlockRecord& r, std::string* out);
Result<BlockRecord> DecodeBlock(std::string_view in, UserId blocker, UserId blocked);

void EncodeCounters(const Counters& r, std::string* out);
Result<Counters> DecodeCounters(std::string_view in);

// A bare varint value (cursors, direct pairs, user ids).
void EncodeU64(uint64_t v, std::string* out);
Result<uint64_t> DecodeU64(std::string_view in);

}  // namespace parley
