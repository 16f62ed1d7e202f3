#include "pg/pg_schema.h"

#include <string>
#include <vector>

namespace parley::pg {

namespace {

// Migration N is kMigrations[N - 1]. Never edit one that has shipped: append.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> migrations = {
      // 1: the first schema.
      R"sql(
CREATE TABLE shard_meta (
  shard        int PRIMARY KEY,
  last_gseq    int8 NOT NULL DEFAULT 0,
  last_user_id int8 NOT NULL DEFAULT 0,
  last_conv_id int8 NOT NULL DEFAULT 0,
  batches      int8 NOT NULL DEFAULT 0
);
INSERT INTO shard_meta (shard) VALUES (0);
CREATE TABLE users (
  id   int8 PRIMARY KEY,
  name bytea NOT NULL UNIQUE,
  rec  bytea NOT NULL
);
CREATE TABLE device_tokens (
  token_digest bytea PRIMARY KEY,
  rec          bytea NOT NULL
);
CREATE TABLE user_devices (
  user_id   int8 NOT NULL,
  device_id bytea NOT NULL,
  rec       bytea NOT NULL,
  PRIMARY KEY (user_id, device_id)
);
CREATE TABLE device_cursors (
  user_id   int8 NOT NULL,
  device_id bytea NOT NULL,
  seq       int8 NOT NULL,
  PRIMARY KEY (user_id, device_id)
);
CREATE TABLE conversations (
  id  int8 PRIMARY KEY,
  rec bytea NOT NULL
);
CREATE TABLE conv_heads (
  conv_id  int8 PRIMARY KEY,
  last_seq int8 NOT NULL,
  rec      bytea NOT NULL
);
CREATE TABLE direct_pairs (
  a       int8 NOT NULL,
  b       int8 NOT NULL,
  conv_id int8 NOT NULL,
  PRIMARY KEY (a, b)
);
CREATE TABLE members (
  conv_id int8 NOT NULL,
  user_id int8 NOT NULL,
  rec     bytea NOT NULL,
  PRIMARY KEY (conv_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, conv_id);
CREATE TABLE messages (
  conv_id int8 NOT NULL,
  seq     int8 NOT NULL,
  rec     bytea NOT NULL,
  PRIMARY KEY (conv_id, seq)
);
CREATE TABLE inbox (
  user_id  int8 NOT NULL,
  user_seq int8 NOT NULL,
  rec      bytea NOT NULL,
  PRIMARY KEY (user_id, user_seq)
);
CREATE TABLE inbox_heads (
  user_id       int8 PRIMARY KEY,
  last_user_seq int8 NOT NULL DEFAULT 0,
  floor         int8 NOT NULL DEFAULT 1
);
CREATE TABLE read_cursors (
  user_id int8 NOT NULL,
  conv_id int8 NOT NULL,
  seq     int8 NOT NULL,
  PRIMARY KEY (user_id, conv_id)
);
CREATE TABLE dedup (
  sender        int8 NOT NULL,
  client_msg_id bytea NOT NULL,
  expires_ms    int8 NOT NULL,
  rec           bytea NOT NULL,
  PRIMARY KEY (sender, client_msg_id)
);
CREATE INDEX dedup_by_expiry ON dedup (expires_ms);
CREATE TABLE changes (
  gseq int8 PRIMARY KEY,
  rec  bytea NOT NULL
);
CREATE TABLE blocks (
  blocker int8 NOT NULL,
  blocked int8 NOT NULL,
  rec     bytea NOT NULL,
  PRIMARY KEY (blocker, blocked)
);
CREATE TABLE invites (
  token_digest bytea PRIMARY KEY,
  rec          bytea NOT NULL
);
)sql",
      // 2: what each batch touched, so that the other nodes forget only that from their
      // caches (PgStore::BeginBatch). `known` false: a write that did not say (tools).
      R"sql(
CREATE TABLE batch_log (
  shard int NOT NULL,
  batch int8 NOT NULL,
  convs int8[] NOT NULL,
  users int8[] NOT NULL,
  known bool NOT NULL,
  PRIMARY KEY (shard, batch)
);
)sql",
  };
  return migrations;
}

std::string Quote(const std::string& identifier) {
  std::string out = "\"";
  for (char c : identifier) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(Migrations().size()); }

Status Migrate(Connection& conn, const std::string& schema) {
  // One lock per schema, held for the session: released by the unlock below or when this
  // connection dies, so a node killed mid-migration blocks nobody.
  static const Statement kLock{"parley_migrate_lock",
                               "SELECT pg_advisory_lock(hashtextextended($1::bytea::text, 7))"};
  static const Statement kUnlock{"parley_migrate_unlock",
                                 "SELECT pg_advisory_unlock(hashtextextended($1::bytea::text, 7))"};
  static const Statement kVersion{"parley_schema_version",
                                  "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations"};
  PARLEY_RETURN_IF_ERROR(conn.Query(kLock, Params().Bytes(schema)));
  auto unlock = [&] { conn.Query(kUnlock, Params().Bytes(schema)).IgnoreError(); };
  Status st = conn.Exec("CREATE SCHEMA IF NOT EXISTS " + Quote(schema));
  if (st.ok()) st = conn.Exec("SET search_path TO " + Quote(schema));
  if (st.ok()) {
    st = conn.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version int8 PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
  }
  ResultPtr r;
  if (st.ok()) st = conn.Query(kVersion, Params(), &r);
  if (!st.ok()) {
    unlock();
    return st;
  }
  const int64_t current = GetInt8(r.get(), 0, 0);
  if (current > LatestSchemaVersion()) {
    unlock();
    return Status(Code::kFailedPrecondition,
                  "postgres: schema " + schema + " is at version " + std::to_string(current) +
                      ", newer than this parleyd knows (" + std::to_string(LatestSchemaVersion()) +
                      "): upgrade parleyd");
  }
  for (int64_t v = current + 1; v <= LatestSchemaVersion(); ++v) {
    // One simple-protocol command: the migration's statements and its version row commit
    // together or not at all.
    st = conn.Exec(std::string("BEGIN;\n") + Migrations()[v - 1] +
                   "\nINSERT INTO schema_migrations (version) VALUES (" + std::to_string(v) +
                   ");\nCOMMIT;");
    if (!st.ok() && conn.transaction_status() == PQTRANS_INERROR) {
      conn.Exec("ROLLBACK").IgnoreError();
    }
    if (!st.ok()) {
      unlock();
      return Status(st.code(), "migration " + std::to_string(v) + ": " + st.message());
    }
  }
  unlock();
  return Status::Ok();
}

}  // namespace parley::pg
