// WriteSet: an ordered list of typed mutations that a Store applies atomically.
//
// The sequencer builds one WriteSet per group commit; the store turns it into whatever its
// engine needs (a RocksDB WriteBatch, later SQL statements). Operations apply in order, so
// a later put of the same key wins.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "model/records.h"

namespace parley {

namespace op {
struct PutUser {
  UserRecord user;
};
// Written under both keys: the token digest and the per-user index.
struct PutDevice {
  DeviceRecord device;
};
struct DeleteDevice {
  UserId user_id;
  std::string device_id;
  std::string token_digest;
};
struct PutConversation {
  ConversationRecord conv;
};
struct PutConvHead {
  ConvId conv_id;
  ConvHead head;
};
// The direct conversation between two users, keyed by the pair in order: a < b.
struct PutDirectPair {
  UserId a;
  UserId b;
  ConvId conv_id;
};
// Written in both directions: conversation -> user and user -> conversation.
struct PutMember {
  MemberRecord member;
};
struct DeleteMember {
  ConvId conv_id;
  UserId user_id;
};
struct PutMessage {
  MessageRecord message;
};
struct PutInboxEvent {
  InboxEvent event;
};
struct PutReadCursor {
  UserId user_id;
  ConvId conv_id;
  Seq seq;
};
struct PutDeviceCursor {
  UserId user_id;
  std::string device_id;
  Seq seq;
};
struct PutDedup {
  UserId sender;
  std::string client_msg_id;
  DedupRecord record;
};
struct PutChange {
  ChangeRecord change;
};
struct PutCounters {
  Counters counters;
};
struct PutBlock {
  BlockRecord block;
};
struct DeleteBlock {
  UserId blocker;
  UserId blocked;
};
}  // namespace op

using WriteOp =
    std::variant<op::PutUser, op::PutDevice, op::DeleteDevice, op::PutConversation, op::PutConvHead,
                 op::PutDirectPair, op::PutMember, op::DeleteMember, op::PutMessage,
                 op::PutInboxEvent, op::PutReadCursor, op::PutDeviceCursor, op::PutDedup,
                 op::PutChange, op::PutCounters, op::PutBlock, op::DeleteBlock>;

struct WriteSet {
  std::vector<WriteOp> ops;

  template <typename T>
  void Add(T&& op) {
    ops.emplace_back(std::forward<T>(op));
  }
  bool empty() const { return ops.empty(); }
  void clear() { ops.clear(); }
};

enum class Durability : uint8_t {
  kSync,      // fsync the log before returning: survives power loss
  kBuffered,  // written to the OS only: survives a process crash, not power loss
};

}  // namespace parley
