#include "pg/pg_store.h"

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include "pg/pg_conn.h"
#include "pg/pg_pool.h"
#include "pg/pg_schema.h"
#include "pg/pg_write_plan.h"
#include "store/record_codec.h"

namespace parley {

namespace {

using pg::Connection;
using pg::ConnectionPool;
using pg::GetBytes;
using pg::GetInt8;
using pg::Params;
using pg::ResultPtr;
using pg::Statement;
using pg::ToInt8;

// Reads. Results come back in binary; int8 and bytea columns only.
const Statement kGetUser{"get_user", "SELECT rec FROM users WHERE id = $1"};
const Statement kFindUser{"find_user", "SELECT id FROM users WHERE name = $1"};
const Statement kFindDevice{"find_device", "SELECT rec FROM device_tokens WHERE token_digest = $1"};
const Statement kListDevices{"list_devices",
                             "SELECT rec FROM user_devices WHERE user_id = $1 ORDER BY device_id"};
const Statement kGetConv{"get_conv", "SELECT rec FROM conversations WHERE id = $1"};
const Statement kGetHead{"get_head", "SELECT rec FROM conv_heads WHERE conv_id = $1"};
const Statement kFindDirect{"find_direct",
                            "SELECT conv_id FROM direct_pairs WHERE a = $1 AND b = $2"};
const Statement kListMembers{
    "list_members", "SELECT user_id, rec FROM members WHERE conv_id = $1 ORDER BY user_id"};
const Statement kGetMember{"get_member",
                           "SELECT rec FROM members WHERE conv_id = $1 AND user_id = $2"};
const Statement kListUserConvs{
    "list_user_convs", "SELECT conv_id, rec FROM members WHERE user_id = $1 ORDER BY conv_id"};
const Statement kGetMessage{"get_message",
                            "SELECT rec FROM messages WHERE conv_id = $1 AND seq = $2"};
const Statement kGetMessages{
    "get_messages",
    "SELECT m.conv_id, m.seq, m.rec FROM messages m JOIN unnest($1::int8[], $2::int8[]) "
    "AS k(conv_id, seq) ON m.conv_id = k.conv_id AND m.seq = k.seq"};
const Statement kScanForward{"scan_forward",
                             "SELECT seq, rec FROM messages WHERE conv_id = $1 AND seq >= $2 "
                             "ORDER BY seq LIMIT $3"};
const Statement kScanBack{"scan_back",
                          "SELECT seq, rec FROM messages WHERE conv_id = $1 AND seq <= $2 "
                          "ORDER BY seq DESC LIMIT $3"};
const Statement kScanInbox{"scan_inbox",
                           "SELECT user_seq, rec FROM inbox WHERE user_id = $1 AND user_seq > $2 "
                           "ORDER BY user_seq LIMIT $3"};
const Statement kInboxHead{"inbox_head",
                           "SELECT last_user_seq, floor FROM inbox_heads WHERE user_id = $1"};
const Statement kReadCursor{"read_cursor",
                            "SELECT seq FROM read_cursors WHERE user_id = $1 AND conv_id = $2"};
const Statement kDeviceCursor{
    "device_cursor", "SELECT seq FROM device_cursors WHERE user_id = $1 AND device_id = $2"};
const Statement kGetDedup{"get_dedup",
                          "SELECT rec FROM dedup WHERE sender = $1 AND client_msg_id = $2"};
const Statement kGetBlock{"get_block",
                          "SELECT rec FROM blocks WHERE blocker = $1 AND blocked = $2"};
const Statement kListBlocks{"list_blocks",
                            "SELECT blocked, rec FROM blocks WHERE blocker = $1 ORDER BY blocked"};
const Statement kScanChanges{
    "scan_changes", "SELECT gseq, rec FROM changes WHERE gseq > $1 ORDER BY gseq LIMIT $2"};
const Statement kCounters{"counters",
                          "SELECT last_gseq, last_user_id, last_conv_id FROM shard_meta "
                          "WHERE shard = 0"};
const Statement kGetInvite{"get_invite", "SELECT rec FROM invites WHERE token_digest = $1"};
const Statement kStats{
    "stats",
    "SELECT (SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'users'::regclass),"
    " (SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'conversations'::regclass),"
    " (SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'messages'::regclass),"
    " (SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'inbox'::regclass),"
    " (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c"
    "  JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  WHERE n.nspname = current_schema() AND c.relkind = 'r')"};

// Writes outside the sequencer's batches.
const Statement kLockShard{"lock_shard",
                           "UPDATE shard_meta SET batches = batches + 1 WHERE shard = 0 "
                           "RETURNING last_gseq, last_user_id, last_conv_id, batches"};
// The batches after $1 (other writers' batches, read under the shard lock): how many, and
// how many of them did not say what they touched; then what they touched. Bounded: a writer that
// fell further behind than kMaxForeignIds ids forgets everything instead.
const Statement kForeignCount{"foreign_count",
                              "SELECT count(*)::int8, (count(*) FILTER (WHERE NOT known))::int8 "
                              "FROM batch_log WHERE shard = 0 AND batch > $1"};
constexpr int64_t kMaxForeignIds = 100000;
const Statement kForeignIds{
    "foreign_ids",
    "SELECT 0::int8, c FROM batch_log, unnest(convs) c WHERE shard = 0 AND batch > $1 "
    "UNION ALL SELECT 1::int8, u FROM batch_log, unnest(users) u WHERE shard = 0 AND batch > $1 "
    "LIMIT 100001"};
// This batch's row (its number is the one the lock statement just assigned).
const Statement kLogBatch{"log_batch",
                          "INSERT INTO batch_log (shard, batch, convs, users, known) "
                          "SELECT 0, batches, $1, $2, true FROM shard_meta WHERE shard = 0"};
const Statement kLogUnknownBatch{"log_unknown_batch",
                                 "INSERT INTO batch_log (shard, batch, convs, users, known) "
                                 "SELECT 0, batches, '{}', '{}', false FROM shard_meta "
                                 "WHERE shard = 0"};
// Rows no writer needs any more: one that is this far behind forgets everything anyway.
const Statement kPruneBatchLog{"prune_batch_log",
                               "DELETE FROM batch_log WHERE shard = 0 AND batch < "
                               "(SELECT batches FROM shard_meta WHERE shard = 0) - 100000"};
const Statement kPutCounters{"put_counters",
                             "UPDATE shard_meta SET last_gseq = $1, last_user_id = $2, "
                             "last_conv_id = $3 WHERE shard = 0"};
const Statement kTrimInbox{"trim_inbox", "DELETE FROM inbox WHERE user_id = $1 AND user_seq < $2"};
const Statement kSetFloor{"set_floor",
                          "UPDATE inbox_heads SET floor = $2 WHERE user_id = $1 AND floor < $2"};
const Statement kPutInvite{"put_invite",
                           "INSERT INTO invites (token_digest, rec) VALUES ($1, $2) "
                           "ON CONFLICT (token_digest) DO UPDATE SET rec = EXCLUDED.rec"};
const Statement kDeleteInvite{"delete_invite", "DELETE FROM invites WHERE token_digest = $1"};
// Expired dedup records, a bounded slice at a time (the embedded engine drops them in
// compaction).
const Statement kExpireDedup{
    "expire_dedup",
    "DELETE FROM dedup WHERE ctid = ANY (ARRAY(SELECT ctid FROM dedup WHERE expires_ms < $1 "
    "LIMIT 1000))"};

Status Missing(std::string_view what) { return NotFound(std::string(what) + " not found"); }

Counters CountersFrom(const PGresult* r) {
  Counters c;
  c.last_gseq = static_cast<uint64_t>(GetInt8(r, 0, 0));
  c.last_user_id = static_cast<uint64_t>(GetInt8(r, 0, 1));
  c.last_conv_id = static_cast<uint64_t>(GetInt8(r, 0, 2));
  return c;
}

// Every row of `r` through `decode(row)`, in order; an undecodable row fails the whole read.
template <typename T, typename Decode>
Result<std::vector<T>> DecodeRows(const PGresult* r, Decode decode) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i) {
    PARLEY_ASSIGN_OR_RETURN(auto v, decode(i));
    out.push_back(std::move(v));
  }
  return out;
}

// The int8 key in column 0 of row `i`, as the id type T.
template <typename T>
T KeyAt(const PGresult* r, int i) {
  return static_cast<T>(GetInt8(r, i, 0));
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class PgStoreImpl final : public Store {
 public:
  PgStoreImpl(const PgStoreOptions& o)
      : settings_{o.url, o.schema, o.application_name},
        breaker_(o.breaker),
        readers_(pg::ConnectionSettings{o.url, o.schema, o.application_name + "-reader"},
                 std::max<size_t>(o.readers, 1)) {}

  Status Open() {
    PARLEY_ASSIGN_OR_RETURN(auto conn,
                            Connection::Open(settings_.url, "", settings_.application_name));
    PARLEY_RETURN_IF_ERROR(pg::Migrate(*conn, settings_.schema));
    return EnsureWriter();
  }

  // --- accounts

  Result<UserRecord> GetUser(UserId id) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kGetUser, Params().Uint8(id), "user"));
    return DecodeUser(GetBytes(r.get(), 0, 0));
  }
  Result<UserId> FindUserByName(std::string_view name) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kFindUser, Params().Bytes(name), "user"));
    return static_cast<UserId>(GetInt8(r.get(), 0, 0));
  }
  Result<DeviceRecord> FindDeviceByToken(std::string_view digest) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kFindDevice, Params().Bytes(digest), "device"));
    return DecodeDevice(GetBytes(r.get(), 0, 0));
  }
  Result<std::vector<DeviceRecord>> ListDevices(UserId user) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kListDevices, Params().Uint8(user)));
    return DecodeRows<DeviceRecord>(r.get(),
                                    [&](int i) { return DecodeDevice(GetBytes(r.get(), i, 0)); });
  }

  // --- conversations and members

  Result<ConversationRecord> GetConversation(ConvId id) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kGetConv, Params().Uint8(id), "conversation"));
    return DecodeConversation(GetBytes(r.get(), 0, 0));
  }
  Result<ConvHead> GetConvHead(ConvId id) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kGetHead, Params().Uint8(id)));
    if (PQntuples(r.get()) == 0) return ConvHead{};
    return DecodeConvHead(GetBytes(r.get(), 0, 0));
  }
  Result<ConvId> FindDirect(UserId a, UserId b) override {
    if (a > b) std::swap(a, b);
    PARLEY_ASSIGN_OR_RETURN(auto r,
                            One(kFindDirect, Params().Uint8(a).Uint8(b), "direct conversation"));
    return static_cast<ConvId>(GetInt8(r.get(), 0, 0));
  }
  Result<std::vector<MemberRecord>> ListMembers(ConvId id) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kListMembers, Params().Uint8(id)));
    return DecodeRows<MemberRecord>(r.get(), [&](int i) {
      return DecodeMember(GetBytes(r.get(), i, 1), id, KeyAt<UserId>(r.get(), i));
    });
  }
  Result<MemberRecord> GetMember(ConvId id, UserId user) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kGetMember, Params().Uint8(id).Uint8(user), "member"));
    return DecodeMember(GetBytes(r.get(), 0, 0), id, user);
  }
  Result<std::vector<MemberRecord>> ListUserConversations(UserId user) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kListUserConvs, Params().Uint8(user)));
    return DecodeRows<MemberRecord>(r.get(), [&](int i) {
      return DecodeMember(GetBytes(r.get(), i, 1), KeyAt<ConvId>(r.get(), i), user);
    });
  }

  // --- storage timeline

  Result<MessageRecord> GetMessage(ConvId conv, Seq seq) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kGetMessage, Params().Uint8(conv).Uint8(seq), "message"));
    return DecodeMessage(GetBytes(r.get(), 0, 0), conv, seq);
  }
  std::vector<Result<MessageRecord>> GetMessages(std::span<const MessageKey> keys) override {
    std::vector<Result<MessageRecord>> out;
    out.reserve(keys.size());
    if (keys.empty()) return out;
    pg::ArrayBuilder convs(pg::kInt8Oid), seqs(pg::kInt8Oid);
    for (const auto& k : keys) {
      convs.AddInt8(ToInt8(k.conv_id));
      seqs.AddInt8(ToInt8(k.seq));
    }
    auto r = Rows(kGetMessages, Params().Array(convs).Array(seqs));
    if (!r.ok()) {
      for (size_t i = 0; i < keys.size(); ++i) out.emplace_back(r.status());
      return out;
    }
    std::map<std::pair<ConvId, Seq>, int> rows;
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      rows[{static_cast<ConvId>(GetInt8(r->get(), i, 0)),
            static_cast<Seq>(GetInt8(r->get(), i, 1))}] = i;
    }
    for (const auto& k : keys) {
      auto it = rows.find({k.conv_id, k.seq});
      if (it == rows.end()) {
        out.emplace_back(Missing("message"));
      } else {
        out.push_back(DecodeMessage(GetBytes(r->get(), it->second, 2), k.conv_id, k.seq));
      }
    }
    return out;
  }
  Result<std::vector<MessageRecord>> ScanMessages(ConvId conv, Seq from, bool forward,
                                                  size_t limit) override {
    PARLEY_ASSIGN_OR_RETURN(
        auto r, Rows(forward ? kScanForward : kScanBack,
                     Params().Uint8(conv).Uint8(from).Uint8(std::min<size_t>(limit, INT64_MAX))));
    return DecodeRows<MessageRecord>(r.get(), [&](int i) {
      return DecodeMessage(GetBytes(r.get(), i, 1), conv, KeyAt<Seq>(r.get(), i));
    });
  }

  // --- sync timeline

  Result<std::vector<InboxEvent>> ScanInbox(UserId user, Seq after, size_t limit) override {
    // Nothing can follow the largest int8.
    if (after >= static_cast<uint64_t>(INT64_MAX)) return std::vector<InboxEvent>{};
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kScanInbox, Params().Uint8(user).Uint8(after).Uint8(
                                                         std::min<size_t>(limit, INT64_MAX))));
    return DecodeRows<InboxEvent>(r.get(), [&](int i) {
      return DecodeInboxEvent(GetBytes(r.get(), i, 1), user, KeyAt<Seq>(r.get(), i));
    });
  }
  Result<Seq> LastUserSeq(UserId user) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kInboxHead, Params().Uint8(user)));
    if (PQntuples(r.get()) == 0) return Seq{0};
    return static_cast<Seq>(GetInt8(r.get(), 0, 0));
  }
  Result<Seq> InboxFloor(UserId user) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kInboxHead, Params().Uint8(user)));
    if (PQntuples(r.get()) == 0) return Seq{1};
    return static_cast<Seq>(GetInt8(r.get(), 0, 1));
  }
  Status TrimInbox(UserId user, Seq floor) override {
    PARLEY_ASSIGN_OR_RETURN(Seq last, LastUserSeq(user));
    floor = std::min(floor, last + 1);
    PARLEY_ASSIGN_OR_RETURN(Seq current, InboxFloor(user));
    if (floor <= current) return Status::Ok();
    return OnReader([&](Connection& c) {
      c.PipelineExec("BEGIN");
      c.PipelineQuery(kTrimInbox, Params().Uint8(user).Uint8(floor));
      c.PipelineQuery(kSetFloor, Params().Uint8(user).Uint8(floor));
      c.PipelineExec("COMMIT");
      return c.Flush();
    });
  }

  // --- cursors

  Result<Seq> GetReadCursor(UserId user, ConvId conv) override {
    return SeqOrZero(kReadCursor, Params().Uint8(user).Uint8(conv));
  }
  Result<Seq> GetDeviceCursor(UserId user, std::string_view device_id) override {
    return SeqOrZero(kDeviceCursor, Params().Uint8(user).Bytes(device_id));
  }

  // --- dedup

  Result<DedupRecord> GetDedup(UserId sender, std::string_view cmid, int64_t now_ms) override {
    PARLEY_ASSIGN_OR_RETURN(auto r,
                            One(kGetDedup, Params().Uint8(sender).Bytes(cmid), "dedup entry"));
    PARLEY_ASSIGN_OR_RETURN(auto rec, DecodeDedup(GetBytes(r.get(), 0, 0)));
    if (rec.expires_ms < now_ms) return NotFound("dedup entry expired");
    return rec;
  }

  // --- blocks

  Result<BlockRecord> GetBlock(UserId blocker, UserId blocked) override {
    PARLEY_ASSIGN_OR_RETURN(auto r,
                            One(kGetBlock, Params().Uint8(blocker).Uint8(blocked), "block"));
    return DecodeBlock(GetBytes(r.get(), 0, 0), blocker, blocked);
  }
  Result<std::vector<BlockRecord>> ListBlocks(UserId blocker) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(kListBlocks, Params().Uint8(blocker)));
    return DecodeRows<BlockRecord>(r.get(), [&](int i) {
      return DecodeBlock(GetBytes(r.get(), i, 1), blocker, KeyAt<UserId>(r.get(), i));
    });
  }

  // --- change feed

  Result<std::vector<ChangeRecord>> ScanChanges(uint64_t after, size_t limit) override {
    if (after >= static_cast<uint64_t>(INT64_MAX)) return std::vector<ChangeRecord>{};
    PARLEY_ASSIGN_OR_RETURN(
        auto r,
        Rows(kScanChanges, Params().Uint8(after).Uint8(std::min<size_t>(limit, INT64_MAX))));
    return DecodeRows<ChangeRecord>(r.get(), [&](int i) {
      return DecodeChange(GetBytes(r.get(), i, 1), KeyAt<uint64_t>(r.get(), i));
    });
  }

  // --- commits

  Result<Counters> LoadCounters() override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kCounters, Params(), "shard row"));
    return CountersFrom(r.get());
  }

  bool shared_writers() const override { return true; }

  Result<BatchStart> BeginBatch() override {
    if (batch_open_) AbortBatch();
    touches_.reset();
    PARLEY_RETURN_IF_ERROR(Admit());
    Status st = Record(EnsureWriter());
    if (!st.ok()) return st;
    // One round trip: the lock, then (when this writer knows its previous batch) what the
    // batches committed after it touched.
    const bool ask = last_batch_ > 0;
    writer_->PipelineExec("BEGIN");
    writer_->PipelineQuery(kLockShard, Params());
    if (ask) {
      writer_->PipelineQuery(kForeignCount, Params().Uint8(last_batch_));
      writer_->PipelineQuery(kForeignIds, Params().Uint8(last_batch_));
    }
    std::vector<ResultPtr> results;
    st = Record(writer_->Flush(&results));
    if (!st.ok()) return WriterFailed(st);
    if (results.size() != (ask ? 4u : 2u) || PQntuples(results[1].get()) != 1) {
      AbortBatch();
      return Status(Code::kCorruption, "postgres: shard_meta has no row for shard 0");
    }
    batch_open_ = true;
    BatchStart start;
    start.counters = CountersFrom(results[1].get());
    open_batch_ = static_cast<uint64_t>(GetInt8(results[1].get(), 0, 3));
    ForeignWrites& foreign = start.foreign;
    foreign.any = !ask || open_batch_ != last_batch_ + 1;
    if (ask && foreign.any) {
      const PGresult* count = results[2].get();
      const PGresult* ids = results[3].get();
      // Every batch in between has its row, each says what it touched, and the list is
      // whole: only then can the caches keep what it does not name.
      foreign.known =
          static_cast<uint64_t>(GetInt8(count, 0, 0)) == open_batch_ - last_batch_ - 1 &&
          GetInt8(count, 0, 1) == 0 && PQntuples(ids) <= kMaxForeignIds;
      for (int i = 0; foreign.known && i < PQntuples(ids); ++i) {
        const int64_t id = GetInt8(ids, i, 1);
        (GetInt8(ids, i, 0) == 0 ? foreign.convs : foreign.users)
            .push_back(static_cast<uint64_t>(id));
      }
    }
    return start;
  }

  void NoteBatchTouches(std::vector<ConvId> convs, std::vector<UserId> users) override {
    touches_.emplace(std::move(convs), std::move(users));
  }

  void AbortBatch() override {
    touches_.reset();
    if (!batch_open_) return;
    batch_open_ = false;
    if (writer_ && !writer_->Exec("ROLLBACK").ok()) writer_.reset();
  }

  Status Apply(const WriteSet& writes, Durability durability) override {
    ApplyTiming ignored;
    return ApplyTimed(writes, durability, &ignored);
  }

  Status ApplyTimed(const WriteSet& writes, Durability durability, ApplyTiming* timing) override {
    const auto start = std::chrono::steady_clock::now();
    Status st = Commit(writes, durability);
    timing->total_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
    return st;
  }

  StoreStats Stats() override {
    StoreStats s;
    auto r = One(kStats, Params(), "stats");
    if (!r.ok()) return s;
    s.users = static_cast<uint64_t>(GetInt8(r->get(), 0, 0));
    s.conversations = static_cast<uint64_t>(GetInt8(r->get(), 0, 1));
    s.messages = static_cast<uint64_t>(GetInt8(r->get(), 0, 2));
    s.inbox_events = static_cast<uint64_t>(GetInt8(r->get(), 0, 3));
    s.disk_bytes = static_cast<uint64_t>(GetInt8(r->get(), 0, 4));
    return s;
  }

  // --- invites

  Result<InviteRecord> GetInvite(std::string_view digest) override {
    PARLEY_ASSIGN_OR_RETURN(auto r, One(kGetInvite, Params().Bytes(digest), "invite"));
    return DecodeInvite(GetBytes(r.get(), 0, 0), digest);
  }
  Status PutInvite(const InviteRecord& invite) override {
    std::string rec;
    EncodeInvite(invite, &rec);
    return OnReader([&](Connection& c) {
      return c.Query(kPutInvite, Params().Bytes(invite.token_digest).Bytes(rec));
    });
  }
  Status DeleteInvite(std::string_view digest) override {
    return OnReader([&](Connection& c) { return c.Query(kDeleteInvite, Params().Bytes(digest)); });
  }

 private:
  Status EnsureWriter() {
    if (writer_ && !writer_->is_broken()) return Status::Ok();
    batch_open_ = false;
    writer_.reset();
    PARLEY_ASSIGN_OR_RETURN(writer_, Connection::Open(settings_.url, settings_.schema,
                                                      settings_.application_name + "-writer"));
    return Status::Ok();
  }

  // A failed write leaves no transaction open: a broken connection is dropped (the next
  // batch connects again), a live one was rolled back by Flush().
  Status WriterFailed(Status st) {
    batch_open_ = false;
    if (writer_ && (writer_->is_broken() || writer_->transaction_status() != PQTRANS_IDLE)) {
      writer_.reset();
    }
    return st;
  }

  Status Commit(const WriteSet& writes, Durability durability) {
    const bool in_batch = batch_open_;
    if (!in_batch) {
      // A write outside the sequencer's batches (tools, tests): same transaction shape.
      PARLEY_RETURN_IF_ERROR(Admit());
      PARLEY_RETURN_IF_ERROR(Record(EnsureWriter()));
      writer_->PipelineExec("BEGIN");
      writer_->PipelineQuery(kLockShard, Params());
    }
    batch_open_ = false;
    if (in_batch && touches_) {
      pg::ArrayBuilder convs(pg::kInt8Oid), users(pg::kInt8Oid);
      for (ConvId c : touches_->first) convs.AddInt8(static_cast<int64_t>(c));
      for (UserId u : touches_->second) users.AddInt8(static_cast<int64_t>(u));
      writer_->PipelineQuery(kLogBatch, Params().Array(convs).Array(users));
    } else {
      writer_->PipelineQuery(kLogUnknownBatch, Params());
    }
    touches_.reset();
    // Buffered writes (device cursors, the relaxed-durability setting) do not wait for the
    // WAL flush nor for the standby.
    if (durability == Durability::kBuffered) {
      writer_->PipelineExec("SET LOCAL synchronous_commit = off");
    }
    pg::WritePlan plan(writes);
    plan.Queue(*writer_);
    if (const auto& c = plan.counters()) {
      writer_->PipelineQuery(
          kPutCounters, Params().Uint8(c->last_gseq).Uint8(c->last_user_id).Uint8(c->last_conv_id));
    }
    if (++batches_since_expiry_ >= 1000) {
      batches_since_expiry_ = 0;
      writer_->PipelineQuery(kExpireDedup, Params().Int8(NowMs()));
      writer_->PipelineQuery(kPruneBatchLog, Params());
    }
    writer_->PipelineExec("COMMIT");
    Status st = Record(writer_->Flush());
    // Our own batch, when this writer knows its number: the next BeginBatch asks only for
    // what came after it. Otherwise (a failure: its outcome is unknown) it asks nothing
    // and the sequencer forgets everything.
    last_batch_ = st.ok() && in_batch ? open_batch_ : 0;
    if (!st.ok()) return WriterFailed(st);
    return Status::Ok();
  }

  // The breaker's verdict before a call; every call it admits must Record() its outcome.
  Status Admit() {
    int64_t retry_ms = 0;
    if (breaker_ == nullptr || breaker_->Allow(&retry_ms)) return Status::Ok();
    return Status(Code::kUnavailable,
                  "postgres unreachable; retry in " + std::to_string(retry_ms) + " ms");
  }
  Status Record(Status st) {
    if (breaker_ != nullptr) {
      if (st.code() == Code::kUnavailable) {
        breaker_->Failure();
      } else {
        breaker_->Success();
      }
    }
    return st;
  }
  // A statement on a pooled reader connection, through the breaker.
  Status OnReader(const std::function<Status(Connection&)>& call) {
    PARLEY_RETURN_IF_ERROR(Admit());
    auto conn = readers_.Acquire();
    if (!conn.ok()) return Record(conn.status());
    return Record(call(**conn));
  }
  Result<ResultPtr> Rows(const Statement& st, const Params& params) {
    ResultPtr r;
    PARLEY_RETURN_IF_ERROR(OnReader([&](Connection& c) { return c.Query(st, params, &r); }));
    return r;
  }
  // Exactly one row expected; none is kNotFound.
  Result<ResultPtr> One(const Statement& st, const Params& params, std::string_view what) {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(st, params));
    if (PQntuples(r.get()) == 0) return Missing(what);
    return r;
  }
  Result<Seq> SeqOrZero(const Statement& st, const Params& params) {
    PARLEY_ASSIGN_OR_RETURN(auto r, Rows(st, params));
    if (PQntuples(r.get()) == 0) return Seq{0};
    return static_cast<Seq>(GetInt8(r.get(), 0, 0));
  }

  const pg::ConnectionSettings settings_;
  CircuitBreaker* const breaker_;
  ConnectionPool readers_;
  // The writer: used by one thread at a time (BeginBatch on the sequencer thread, the
  // Apply that follows on its committer, handed over under the sequencer's mutex).
  std::unique_ptr<Connection> writer_;
  bool batch_open_ = false;
  uint64_t open_batch_ = 0;  // the number of the open batch
  uint64_t last_batch_ = 0;  // this writer's last committed batch; 0: unknown
  std::optional<std::pair<std::vector<ConvId>, std::vector<UserId>>> touches_;
  int batches_since_expiry_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPgStore(const PgStoreOptions& options) {
  if (options.url.empty()) return Status(Code::kInvalidArgument, "postgres: no url configured");
  auto store = std::make_unique<PgStoreImpl>(options);
  PARLEY_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace parley
