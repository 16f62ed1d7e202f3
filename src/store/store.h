// Store: everything Parley persists, behind one engine-neutral interface.
//
// Reads may be called from any thread at any time and see only committed data. All
// mutations go through Apply(), which the service layer calls from a single sequencer
// thread; an implementation applies a WriteSet atomically (all or nothing) and, with
// Durability::kSync, durably before returning. A few maintenance writes that need no
// ordering with messages (trimming) have their own calls.
//
// Errors: lookups of a missing record return Code::kNotFound; engine failures
// Code::kIOError; undecodable records Code::kCorruption.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/records.h"
#include "store/write_set.h"

namespace parley {

struct StoreStats {
  uint64_t users = 0;  // estimates: engines count lazily
  uint64_t conversations = 0;
  uint64_t messages = 0;
  uint64_t inbox_events = 0;
  uint64_t disk_bytes = 0;
};

// Where the time of one Apply went, for the stage histograms (metrics/stages.h). -1: the
// engine cannot tell that part apart.
struct ApplyTiming {
  int64_t total_nanos = -1;
  int64_t sync_nanos = -1;  // waiting for the disk (fsync/fdatasync), inside total_nanos
};

struct MessageKey {
  ConvId conv_id;
  Seq seq;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- accounts
  virtual Result<UserRecord> GetUser(UserId id) = 0;
  virtual Result<UserId> FindUserByName(std::string_view normalized_name) = 0;
  virtual Result<DeviceRecord> FindDeviceByToken(std::string_view token_digest) = 0;
  virtual Result<std::vector<DeviceRecord>> ListDevices(UserId user) = 0;

  // --- conversations and members
  virtual Result<ConversationRecord> GetConversation(ConvId id) = 0;
  // A conversation with no message yet has a zero head.
  virtual Result<ConvHead> GetConvHead(ConvId id) = 0;
  virtual Result<ConvId> FindDirect(UserId a, UserId b) = 0;
  virtual Result<std::vector<MemberRecord>> ListMembers(ConvId id) = 0;
  virtual Result<MemberRecord> GetMember(ConvId id, UserId user) = 0;
  // The user's memberships (role and fan-out mode included), by conversation id.
  virtual Result<std::vector<MemberRecord>> ListUserConversations(UserId user) = 0;

  // --- storage timeline
  virtual Result<MessageRecord> GetMessage(ConvId conv, Seq seq) = 0;
  // Batched point reads; one Result per key, in the same order.
  virtual std::vector<Result<MessageRecord>> GetMessages(std::span<const MessageKey> keys) = 0;
  // Up to `limit` messages starting at `from` inclusive: ascending when `forward`,
  // otherwise descending (seq <= from).
  virtual Result<std::vector<MessageRecord>> ScanMessages(ConvId conv, Seq from, bool forward,
                                                          size_t limit) = 0;

  // --- sync timeline (inbox)
  // Events with user_seq > after, ascending, at most `limit`.
  virtual Result<std::vector<InboxEvent>> ScanInbox(UserId user, Seq after, size_t limit) = 0;
  // Highest user_seq ever assigned to the user (kept across trimming), 0 if none.
  virtual Result<Seq> LastUserSeq(UserId user) = 0;
  // Lowest user_seq still stored: events below it were trimmed. 1 if never trimmed.
  virtual Result<Seq> InboxFloor(UserId user) = 0;
  // Deletes the user's events with user_seq < `floor` and records the new floor.
  virtual Status TrimInbox(UserId user, Seq floor) = 0;

  // --- cursors
  virtual Result<Seq> GetReadCursor(UserId user, ConvId conv) = 0;  // 0 if never read
  // The last user_seq a device reported as processed (written with op::PutDeviceCursor).
  virtual Result<Seq> GetDeviceCursor(UserId user, std::string_view device_id) = 0;

  // --- idempotent send
  // NotFound if absent or expired at `now_ms`.
  virtual Result<DedupRecord> GetDedup(UserId sender, std::string_view client_msg_id,
                                       int64_t now_ms) = 0;

  // --- blocks
  // kNotFound unless `blocker` blocks `blocked`.
  virtual Result<BlockRecord> GetBlock(UserId blocker, UserId blocked) = 0;
  // The users `blocker` blocks, ascending by blocked user id.
  virtual Result<std::vector<BlockRecord>> ListBlocks(UserId blocker) = 0;

  // --- change feed
  virtual Result<std::vector<ChangeRecord>> ScanChanges(uint64_t after_gseq, size_t limit) = 0;

  // --- commits
  virtual Result<Counters> LoadCounters() = 0;
  virtual Status Apply(const WriteSet& writes, Durability durability) = 0;
  // Apply, also telling how long it took and how much of that was the sync. Engines that
  // can measure their sync override it; by default only the total is known.
  virtual Status ApplyTimed(const WriteSet& writes, Durability durability, ApplyTiming* timing) {
    const auto start = std::chrono::steady_clock::now();
    Status status = Apply(writes, durability);
    timing->total_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
    return status;
  }

  // --- several writers (cluster mode: nodes sharing one database)
  // True when other processes may commit to the same data: the sequencer then opens each
  // batch with BeginBatch() (waiting for the previous batch to finish) and forgets what
  // its caches hold of whatever other writers changed since its previous batch.
  virtual bool shared_writers() const { return false; }

  // What other writers committed between this writer's previous batch and the one opened.
  struct ForeignWrites {
    bool any = false;    // someone else committed since
    bool known = false;  // `convs` and `users` list everything they touched; else: unknown
    std::vector<ConvId> convs;
    std::vector<UserId> users;
  };
  struct BatchStart {
    Counters counters;  // as committed, before this batch
    ForeignWrites foreign;
  };
  // Opens the write transaction of the next batch and takes the lock that orders every
  // writer. The next Apply()/ApplyTimed() commits the transaction — even with an empty
  // WriteSet — and AbortBatch() ends it unapplied.
  virtual Result<BatchStart> BeginBatch() {
    return Status(Code::kInternal, "BeginBatch on a store with one writer");
  }
  virtual void AbortBatch() {}
  // The conversations and users whose cached state the open batch may change (every one
  // it read through the sequencer's caches): committed with the batch, so that the other
  // writers' next BeginBatch can name them in ForeignWrites. A batch committed without
  // them counts as touching everything.
  virtual void NoteBatchTouches(std::vector<ConvId> /*convs*/, std::vector<UserId> /*users*/) {}

  virtual StoreStats Stats() = 0;

  // --- invites: written directly (synced), not through Apply: they need no ordering with
  // the sequencer's commits. kNotFound for an unknown digest.
  virtual Result<InviteRecord> GetInvite(std::string_view token_digest) = 0;
  virtual Status PutInvite(const InviteRecord& invite) = 0;
  virtual Status DeleteInvite(std::string_view token_digest) = 0;

  // Copies of the store's files for online backups are not part of this interface: only an
  // embedded engine can take them (store/checkpoint.h).
};

}  // namespace parley
