// The records Parley stores, as plain value types shared by every Store implementation.
//
// Identifiers: users and conversations get dense 64-bit ids from server counters.
// `conv_seq` numbers a conversation's messages 1, 2, 3... with no gaps; `user_seq`
// numbers a user's sync-timeline (inbox) events the same way; `gseq` numbers every
// committed change server-wide (the change feed), and a message's `msg_id` is the gseq
// of the change that created it.
#pragma once

#include <cstdint>
#include <string>

namespace parley {

using UserId = uint64_t;
using ConvId = uint64_t;
using Seq = uint64_t;

struct UserRecord {
  UserId id = 0;
  std::string name;           // normalised (lower-case), unique
  std::string password_hash;  // Argon2id string
  int64_t created_ms = 0;
};

// One logged-in device. Its token is known only to the device; we keep a digest.
struct DeviceRecord {
  UserId user_id = 0;
  std::string device_id;
  std::string token_digest;  // 32 raw bytes
  int64_t created_ms = 0;    // when this token was issued (login)
  // When the token was last used (auth, a live session), updated at most every few
  // minutes; the token's expiry slides from here. Records from before it existed decode
  // with last_seen_ms = created_ms.
  int64_t last_seen_ms = 0;
};

enum class ConvKind : uint8_t { kDirect = 1, kGroup = 2 };
enum class Role : uint8_t { kMember = 0, kAdmin = 1, kOwner = 2 };

struct ConversationRecord {
  ConvId id = 0;
  ConvKind kind = ConvKind::kDirect;
  std::string title;  // groups only
  UserId owner = 0;   // groups only
  int64_t created_ms = 0;
  uint32_t member_count = 0;
  // Read fan-out: members' inboxes get no per-message event; sync reports the head.
  // Set once a group grows past the configured threshold, and kept.
  bool read_fanout = false;
  // Direct conversations only: the peer who has not been shown the conversation yet. It is
  // set when one user opens it (conv.open) and cleared by the first message or when the
  // peer opens it too; until then the peer's list, history and typing notices leave it out.
  // 0: both members see it (also every conversation stored before this field existed).
  UserId hidden_from = 0;
};

// The moving part of a conversation, written with every message.
struct ConvHead {
  Seq last_seq = 0;        // 0: no message yet
  int64_t last_ms = 0;     // server time of the last message (or creation)
  uint64_t last_gseq = 0;  // gseq of the last change that touched the conversation
};

struct MemberRecord {
  ConvId conv_id = 0;
  UserId user_id = 0;
  Role role = Role::kMember;
  int64_t joined_ms = 0;
  bool read_fanout = false;  // copy of the conversation's mode, for a cheap sync scan
};

// kFile and kImage: the body is a JSON object naming attachments (docs/protocol.md §7).
enum class MessageKind : uint8_t { kText = 1, kCustom = 2, kFile = 3, kImage = 4 };

struct MessageRecord {
  ConvId conv_id = 0;
  Seq seq = 0;
  uint64_t msg_id = 0;
  UserId sender = 0;
  std::string sender_device;
  std::string client_msg_id;
  MessageKind kind = MessageKind::kText;
  std::string body;  // UTF-8 text, or a JSON document for kCustom; empty once recalled
  int64_t server_ms = 0;
  bool recalled = false;
  UserId recalled_by = 0;
  int64_t recalled_ms = 0;
  int64_t edited_ms = 0;  // server time of the last edit; 0: never edited
};

enum class EventType : uint8_t {
  kMessage = 1,       // new message (conv_id, conv_seq)
  kRecall = 2,        // message (conv_id, conv_seq) became a tombstone; actor recalled it
  kRead = 3,          // the user's own read cursor moved to conv_seq (from another device)
  kReceipt = 4,       // the peer (actor) of a direct conversation read up to conv_seq
  kMemberJoined = 5,  // subject joined conv_id (added by actor)
  kMemberLeft = 6,    // subject left or was removed (by actor)
  kConvUpdated = 7,   // title or roles changed (by actor)
  kEdit = 8,          // message (conv_id, conv_seq) got a new body; actor (its sender) edited it
  // Never stored: sync's stand-in for an event of a conversation the user no longer belongs
  // to (left or removed). It keeps the event's user_seq, conv_id and ms; the rest is zero.
  kWithheld = 9,
};

// Events whose sync items and pushes carry the message itself, so a client needs no
// second read to show them.
inline bool EventCarriesMessage(EventType type) {
  return type == EventType::kMessage || type == EventType::kRecall || type == EventType::kEdit;
}

// One sync-timeline entry of user `user_id`.
struct InboxEvent {
  UserId user_id = 0;
  Seq user_seq = 0;
  EventType type = EventType::kMessage;
  ConvId conv_id = 0;
  Seq conv_seq = 0;
  UserId actor = 0;
  UserId subject = 0;
  int64_t ms = 0;
  uint64_t gseq = 0;
};

// Idempotent send: (sender, client_msg_id) -> the first acknowledgement.
struct DedupRecord {
  ConvId conv_id = 0;
  Seq seq = 0;
  uint64_t msg_id = 0;
  int64_t server_ms = 0;
  int64_t expires_ms = 0;
  // What the first send asked for (a digest of its kind and body; its conversation is
  // conv_id), so that a reuse of the key for another message is told from a retry. Empty in
  // records written before it existed.
  std::string request_digest;
};

enum class ChangeKind : uint8_t { kMessage = 1, kRecall = 2, kEdit = 3 };

// The change feed: every message created or changed, in global commit order.
struct ChangeRecord {
  uint64_t gseq = 0;
  ChangeKind kind = ChangeKind::kMessage;
  ConvId conv_id = 0;
  Seq conv_seq = 0;
  int64_t ms = 0;
};

// User `blocker` refuses direct messages, new direct conversations and group adds from
// user `blocked` (docs/protocol.md, block).
struct BlockRecord {
  UserId blocker = 0;
  UserId blocked = 0;
  int64_t created_ms = 0;
};

// Server-wide id counters, persisted in every commit that moves them.
struct Counters {
  UserId last_user_id = 0;
  ConvId last_conv_id = 0;
  uint64_t last_gseq = 0;
};

// An invitation to register (`[accounts] registration = "invite"`). The token is given to
// the invitee once; only its digest is kept, so a copy of the store reveals no usable
// invite.
struct InviteRecord {
  std::string token_digest;  // 32 raw bytes (BLAKE2b of the token)
  uint32_t uses_left = 1;    // registrations it still allows; deleted at 0
  int64_t expires_ms = 0;    // server time after which it is refused; 0: never
  int64_t created_ms = 0;
};

}  // namespace parley
