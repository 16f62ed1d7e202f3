// Logical export and import: a store's users, conversations and messages as JSON Lines,
// for moving data between servers, versions or storage engines (backup.h copies the
// engine's files instead).
//
// The lines of the file, their fields and their order: export_format.h (format 1), shared
// by the exporter (export.cc) and the importer (import.cc).
//
// Scopes: everything; one user (every conversation the user is a member of); one
// conversation. A scoped export also carries the users its conversations refer to (the
// members, and senders who have since left) so that it imports on its own.
//
// Not exported: devices and their tokens (secrets: users log in again), device cursors,
// inbox events, dedup entries, the change feed and the search index. Import rebuilds what a
// server needs from the rest: direct-pair lookups, member counts, each member's inbox by
// the service's rules (model/inbox_events.h: a member_joined event per membership; a
// message event for each message of a write-fan-out conversation sent since the member
// joined — at or after joined_ms, so a message of the same millisecond counts; the member's
// own read cursor as a read event and, in direct conversations, the peer's as a receipt —
// in time order), one change-feed entry per message (the search index rebuilds from it),
// dedup entries still within their TTL, and the id counters, so new sends continue every
// sequence.
//
// The rebuilt inbox events take the user_seqs after the user's last_user_seq (from 1
// without one), and a user with no event to rebuild gets an inbox floor there: a device
// that kept its sync cursor across the move (logging in again with the same device id)
// gets the rebuilt events once more and then everything new, rather than missing new
// events until the shorter rebuilt timeline outgrows its cursor. So an export of the
// imported store differs from the original export in last_user_seq (and exported_ms).
//
// Thread-safety: neither function takes a snapshot; run them on a store no one writes to
// (the CLI opens the store of a stopped server).
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>

#include "common/status.h"
#include "store/store.h"

namespace parley::backup {

constexpr int kExportFormat = 1;

struct ExportScope {
  enum class Kind { kAll, kUser, kConversation };
  Kind kind = Kind::kAll;
  UserId user = 0;  // kUser
  ConvId conv = 0;  // kConversation
  // false: every "password_hash" is "" (for handing data to someone who must not get
  // even hashed credentials); the imported accounts cannot log in.
  bool password_hashes = true;

  static ExportScope All() { return {}; }
  static ExportScope User(UserId id) { return {Kind::kUser, id, 0, true}; }
  static ExportScope Conversation(ConvId id) { return {Kind::kConversation, 0, id, true}; }
};

struct ExportStats {
  uint64_t users = 0;
  uint64_t conversations = 0;
  uint64_t members = 0;
  uint64_t read_cursors = 0;
  uint64_t messages = 0;
};

// Writes the scope's records to `out`. kNotFound if the scope's user or conversation
// does not exist; kIOError if `out` fails; store errors as they come. `stats` may be null.
Status Export(Store& store, const ExportScope& scope, std::ostream& out, ExportStats* stats);

struct ImportOptions {
  // Dedup entries are rebuilt for messages younger than this (ServiceConfig's default),
  // so a client retrying a send from before the move gets its first acknowledgement.
  int64_t dedup_ttl_ms = 7LL * 24 * 3600 * 1000;
  size_t batch_ops = 8192;  // write operations per Store::Apply
};

struct ImportStats {
  uint64_t users = 0;
  uint64_t conversations = 0;
  uint64_t members = 0;
  uint64_t read_cursors = 0;
  uint64_t messages = 0;
  uint64_t inbox_events = 0;  // rebuilt
};

// Reads an export from `in` into `store`, which must be empty (kFailedPrecondition
// otherwise). The whole input is read and checked first (kInvalidArgument naming the
// line for a malformed line, an unknown type, another format, a dangling reference, a
// gap in a conversation's messages, a truncated file…); only then is anything written,
// in batches with buffered durability and a final synced batch that stores the counters.
// A failure while writing (kIOError) leaves an incomplete store: delete it and import
// again. `in` is read twice, so it must be seekable (a file or a string stream; the CLI
// copies stdin to a temporary file). `stats` may be null.
Status Import(Store& store, std::istream& in, ImportStats* stats,
              const ImportOptions& options = {});

}  // namespace parley::backup
