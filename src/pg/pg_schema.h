// The PostgreSQL schema of Parley, as numbered migrations applied at start.
//
// Migrate() runs under a session advisory lock (so several nodes starting at once apply
// each migration exactly once), creates the schema if needed, applies every migration
// newer than the database's version in its own transaction, and refuses a database whose
// version is newer than this build knows.
//
// Layout, sharding in mind: every table is keyed by the id that will choose its shard —
// conversation-owned rows (conversations, heads, members, messages, dedup's conversation
// lives in its record) by conv_id, user-owned rows (users, devices, inbox, cursors, blocks)
// by user_id — and `shard_meta` holds one row per shard: the counters (last gseq, user and
// conversation ids) that every write transaction of the shard locks first. Records are
// stored as the same versioned value encodings the embedded engine uses
// (store/record_codec.h) in a `rec` column, with their key fields as typed columns.
#pragma once

#include <string>

#include "common/status.h"
#include "pg/pg_conn.h"

namespace parley::pg {

// The highest migration this build knows.
int LatestSchemaVersion();

// Brings the schema `schema` up to date on `conn` (a fresh connection).
Status Migrate(Connection& conn, const std::string& schema);

}  // namespace parley::pg
