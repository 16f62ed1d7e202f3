// PgStore: the Store on PostgreSQL, the system of record of cluster mode.
//
// Several parleyd nodes share one database. Ordering across them comes from one row per
// shard (`shard_meta`, holding the gseq, user id and conversation id counters): every
// write transaction updates that row first, so commit order equals gseq order (the change
// feed stays gapless and commit-ordered) and writers never deadlock. The sequencer calls
// BeginBatch() before staging each batch: it opens the transaction, takes the row and
// returns the counters as committed — if another node wrote since, the sequencer drops its
// caches and stages from the database. The Apply() that follows sends the batch's
// statements (one multi-row upsert or delete per table, pg/pg_write_plan.h) and COMMIT in
// one pipeline. With synchronous_commit=on and a synchronous standby, COMMIT returns once
// the standby has the batch: that is the durability an ack promises. Every batch writes
// the shard row, so even a batch of dedup hits waits for the standby before its acks.
//
// Reads go through a pool of reader connections (pg/pg_pool.h), and see committed data
// only. Connection failures answer kUnavailable; the next call connects again, following
// the URL's hosts to whichever is the primary (target_session_attrs=read-write).
//
// Writer connections never set statement_timeout: a cancelled wait for the standby would
// leave a commit visible on the primary only.
//
// Thread-safety: reads from any thread; BeginBatch/Apply/AbortBatch from one writer at a
// time (the sequencer hands the open batch from its thread to its committer).
#pragma once

#include <memory>
#include <string>

#include "common/circuit_breaker.h"
#include "common/status.h"
#include "store/store.h"

namespace parley {

struct PgStoreOptions {
  std::string url;                // libpq URL or key=value conninfo
  std::string schema = "parley";  // created if missing; migrated at open
  size_t readers = 8;             // reader pool size
  std::string application_name = "parleyd";
  // Trips when PostgreSQL cannot be reached: calls then fail at once with kUnavailable
  // instead of each waiting for a connect timeout. Owned by the caller; null: none.
  CircuitBreaker* breaker = nullptr;
};

Result<std::unique_ptr<Store>> OpenPgStore(const PgStoreOptions& options);

}  // namespace parley
