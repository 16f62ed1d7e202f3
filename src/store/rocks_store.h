// RocksStore: the embedded Store on RocksDB, one column family per keyspace.
//
// Key layouts (all integers fixed-width big-endian, so byte order is numeric order):
//   users            user_id                      -> UserRecord
//   username_user    normalised name              -> user_id (varint)
//   token_device     token digest (32 bytes)      -> DeviceRecord
//   user_device      user_id, device_id           -> DeviceRecord
//   device_cursor    user_id, device_id           -> last processed user_seq (varint)
//   conversations    conv_id                      -> ConversationRecord
//   conv_head        conv_id                      -> ConvHead
//   direct_pair      min(user), max(user)         -> conv_id (varint)
//   conv_member      conv_id, user_id             -> MemberRecord (role, joined, mode)
//   user_conv        user_id, conv_id             -> MemberRecord
//   messages         conv_id, conv_seq            -> MessageRecord  (storage timeline)
//   inbox            user_id, user_seq            -> InboxEvent     (sync timeline)
//   inbox_floor      user_id                      -> lowest retained user_seq (varint)
//   read_cursor      user_id, conv_id             -> read conv_seq (varint)
//   dedup            sender user_id, client_msg_id-> DedupRecord (dropped by compaction
//                                                   once expired)
//   changes          gseq                         -> ChangeRecord   (change feed)
//   meta             "counters"                   -> Counters
//   user_block       blocker user_id, blocked user_id -> BlockRecord (created_ms); the
//                                                   keyspace is created on open, so data
//                                                   directories from before it still open
//   invites          token digest (32 bytes)      -> InviteRecord (uses left, expiry);
//                                                   created on open if missing
//
// Thread-safety: all methods are thread-safe; Apply() is meant for one writer at a time.
// Checkpoint() may run beside writes.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "store/checkpoint.h"
#include "store/store.h"

namespace parley {

struct RocksStoreOptions {
  // Shared LRU block cache for all keyspaces. Default: 256 MiB.
  size_t block_cache_bytes = 256u << 20;
  // Total memtable budget across keyspaces. Default: 256 MiB.
  size_t write_buffer_bytes = 256u << 20;
  // Background compaction/flush threads. Default: 2.
  int background_threads = 2;
};

// The write path's state, for metrics. A full disk stops writes (they fail with
// kUnavailable, "storage full") until space is freed; the store then resumes by itself
// (rocks_recovery.h).
struct RocksStoreHealth {
  bool refusing_writes = false;  // stopped for lack of space, not resumed yet
  uint64_t no_space_errors = 0;  // writes and background jobs that found no space
  uint64_t resumes = 0;          // times writes came back after such a stop
  int64_t last_stop_millis = 0;  // how long the last stop lasted (0: none yet)
};

// The embedded store: every Store operation, plus the checkpoints that only an embedded
// engine can take (for online backups). The implementation is hidden in rocks_store.cc.
class RocksStore : public Store, public CheckpointSource {
 public:
  virtual RocksStoreHealth health() const = 0;
};

// Opens (creating if needed) the store in directory `path`. Fails with kIOError when the
// directory is unusable or locked by another process.
Result<std::unique_ptr<RocksStore>> OpenRocksStore(const std::string& path,
                                                   const RocksStoreOptions& options = {});

}  // namespace parley
