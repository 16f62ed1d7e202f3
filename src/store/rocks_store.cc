#include "store/rocks_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iostats_context.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <array>
#include <chrono>
#include <filesystem>

#include "common/clock.h"
#include "common/codec.h"
#include "store/record_codec.h"
#include "store/rocks_info_log.h"
#include "store/rocks_recovery.h"

namespace parley {
namespace {

enum Cf : size_t {
  kDefault,  // required by RocksDB; unused
  kUsers,
  kUsernameUser,
  kTokenDevice,
  kUserDevice,
  kDeviceCursor,
  kConversations,
  kConvHead,
  kDirectPair,
  kConvMember,
  kUserConv,
  kMessages,
  kInbox,
  kInboxFloor,
  kReadCursor,
  kDedup,
  kChanges,
  kMeta,
  kUserBlock,
  kInvites,
  kCfCount,
};

constexpr std::array<const char*, kCfCount> kCfNames = {
    "default",       "users",         "username_user", "token_device", "user_device",
    "device_cursor", "conversations", "conv_head",     "direct_pair",  "conv_member",
    "user_conv",     "messages",      "inbox",         "inbox_floor",  "read_cursor",
    "dedup",         "changes",       "meta",          "user_block",   "invites"};

// Keyspaces whose keys start with an 8-byte id and are scanned by that prefix.
bool HasIdPrefix(size_t cf) {
  return cf == kUserDevice || cf == kConvMember || cf == kUserConv || cf == kMessages ||
         cf == kInbox || cf == kReadCursor || cf == kDeviceCursor || cf == kUserBlock;
}

constexpr std::string_view kCountersKey = "counters";

std::string Key1(uint64_t a) {
  std::string k;
  Writer(&k).BigEndian64(a);
  return k;
}

std::string Key2(uint64_t a, uint64_t b) {
  std::string k;
  Writer w(&k);
  w.BigEndian64(a);
  w.BigEndian64(b);
  return k;
}

std::string KeyIdString(uint64_t a, std::string_view s) {
  std::string k;
  Writer w(&k);
  w.BigEndian64(a);
  w.Raw(s);
  return k;
}

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return NotFound(s.ToString());
  if (s.IsCorruption()) return Status(Code::kCorruption, s.ToString());
  return Status(Code::kIOError, s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Drops dedup entries whose retention has passed; reads treat them as absent meanwhile.
class DedupExpiryFilter : public rocksdb::CompactionFilter {
 public:
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    auto rec = DecodeDedup(std::string_view(value.data(), value.size()));
    return rec.ok() && rec->expires_ms < NowMillis();
  }
  const char* Name() const override { return "parley.DedupExpiryFilter"; }
};

class RocksStoreImpl final : public RocksStore {
 public:
  ~RocksStoreImpl() override {
    recovery_->Stop();  // its thread calls into db_
    if (!db_) return;
    db_->SyncWAL().PermitUncheckedError();
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_.reset();
  }

  Status Open(const std::string& path, const RocksStoreOptions& o) {
    rocksdb::Options db_opts;
    db_opts.create_if_missing = true;
    db_opts.create_missing_column_families = true;
    db_opts.IncreaseParallelism(o.background_threads);
    db_opts.max_background_jobs = o.background_threads;
    db_opts.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(o.write_buffer_bytes);
    db_opts.max_total_wal_size = 512u << 20;
    db_opts.keep_log_file_num = 5;
    // Flushes and compactions write their files with a sync every megabyte instead of
    // leaving hundreds of dirty megabytes for one sync at the end: on ext4 a commit's WAL
    // fdatasync may have to wait for such a backlog to reach the disk (an fsync convoy).
    db_opts.bytes_per_sync = 1u << 20;
    // One writer (the sequencer's committer) makes the commits: memtable inserts need not
    // be concurrent, and only non-concurrent inserts use the insert hints below.
    db_opts.allow_concurrent_memtable_write = false;
    // Compactions (the LOW pool) are background work: the message path's threads come
    // first for the CPU and the disk. Flushes (HIGH) keep normal priority, since writes
    // stall when memtables cannot be flushed in time.
    db_opts.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow)
        .PermitUncheckedError();
    db_opts.env->LowerThreadPoolIOPriority(rocksdb::Env::Priority::LOW);
    // A full disk stops writes; the listener resumes them once there is space again.
    db_opts.listeners.push_back(recovery_);
    {
      std::error_code ec;
      std::filesystem::create_directories(path, ec);  // for the log; Open reports failures
      if (!ec) db_opts.info_log = OpenRocksInfoLog(path, db_opts.keep_log_file_num - 1);
    }

    auto cache = rocksdb::NewLRUCache(o.block_cache_bytes);
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (size_t i = 0; i < kCfCount; ++i) {
      rocksdb::ColumnFamilyOptions cf;
      rocksdb::BlockBasedTableOptions table;
      table.block_cache = cache;
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      table.cache_index_and_filter_blocks = true;
      table.pin_l0_filter_and_index_blocks_in_cache = true;
      table.whole_key_filtering = true;
      cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      cf.compression = rocksdb::kLZ4Compression;
      cf.level_compaction_dynamic_level_bytes = true;
      if (HasIdPrefix(i)) {
        cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
      }
      if (i == kMessages || i == kInbox) {
        cf.write_buffer_size = 64u << 20;
        // Sync reads ~100 random messages: a memtable bloom filter skips the memtables
        // that cannot hold a key instead of searching each skiplist.
        cf.memtable_prefix_bloom_size_ratio = 0.05;
        cf.memtable_whole_key_filtering = true;
      }
      if (i == kDedup) cf.compaction_filter = &dedup_filter_;
      // Messages and inbox events arrive in order within their conversation or user, and
      // changes in order overall: the memtable keeps where the last key of each prefix went
      // and inserts the next one from there instead of searching the skiplist from the top
      // (without it, memtable inserts took a fifth of the server's CPU at full load).
      // The same goes for a sender's dedup records, a conversation's head (rewritten by
      // every commit that touches it) and a device's cursor: the hint finds the owner's
      // few keys at once.
      if (i == kMessages || i == kInbox || i == kDedup || i == kConvHead || i == kDeviceCursor) {
        cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
      } else if (i == kChanges || i == kMeta) {
        cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(0));
      }
      descs.emplace_back(kCfNames[i], cf);
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_opts, path, descs, &handles_, &raw);
    if (!s.ok()) return Status(Code::kIOError, "open store at " + path + ": " + s.ToString());
    db_.reset(raw);
    recovery_->Attach(db_.get());
    return Status::Ok();
  }

  // --- accounts

  Result<UserRecord> GetUser(UserId id) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kUsers, Key1(id), &v));
    return DecodeUser(v);
  }

  Result<UserId> FindUserByName(std::string_view name) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kUsernameUser, name, &v));
    return DecodeU64(v);
  }

  Result<DeviceRecord> FindDeviceByToken(std::string_view digest) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kTokenDevice, digest, &v));
    return DecodeDevice(v);
  }

  Result<std::vector<DeviceRecord>> ListDevices(UserId user) override {
    std::vector<DeviceRecord> out;
    Status st = ScanPrefix(kUserDevice, Key1(user), SIZE_MAX,
                           [&](std::string_view, std::string_view v) -> Status {
                             PARLEY_ASSIGN_OR_RETURN(auto d, DecodeDevice(v));
                             out.push_back(std::move(d));
                             return Status::Ok();
                           });
    if (!st.ok()) return st;
    return out;
  }

  // --- conversations

  Result<ConversationRecord> GetConversation(ConvId id) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kConversations, Key1(id), &v));
    return DecodeConversation(v);
  }

  Result<ConvHead> GetConvHead(ConvId id) override {
    std::string v;
    Status st = Get(kConvHead, Key1(id), &v);
    if (st.code() == Code::kNotFound) return ConvHead{};
    if (!st.ok()) return st;
    return DecodeConvHead(v);
  }

  Result<ConvId> FindDirect(UserId a, UserId b) override {
    if (a > b) std::swap(a, b);
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kDirectPair, Key2(a, b), &v));
    return DecodeU64(v);
  }

  Result<std::vector<MemberRecord>> ListMembers(ConvId id) override {
    return ScanMembers(kConvMember, id, /*key_is_conv_first=*/true);
  }

  Result<MemberRecord> GetMember(ConvId id, UserId user) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kConvMember, Key2(id, user), &v));
    return DecodeMember(v, id, user);
  }

  Result<std::vector<MemberRecord>> ListUserConversations(UserId user) override {
    return ScanMembers(kUserConv, user, /*key_is_conv_first=*/false);
  }

  // --- blocks

  Result<BlockRecord> GetBlock(UserId blocker, UserId blocked) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kUserBlock, Key2(blocker, blocked), &v));
    return DecodeBlock(v, blocker, blocked);
  }

  Result<std::vector<BlockRecord>> ListBlocks(UserId blocker) override {
    std::vector<BlockRecord> out;
    Status st = ScanPrefix(kUserBlock, Key1(blocker), SIZE_MAX,
                           [&](std::string_view k, std::string_view v) -> Status {
                             Reader r(k);
                             r.BigEndian64();
                             UserId blocked = r.BigEndian64();
                             if (!r.ok()) return Status(Code::kCorruption, "bad block key");
                             PARLEY_ASSIGN_OR_RETURN(auto b, DecodeBlock(v, blocker, blocked));
                             out.push_back(b);
                             return Status::Ok();
                           });
    if (!st.ok()) return st;
    return out;
  }

  // --- storage timeline

  Result<MessageRecord> GetMessage(ConvId conv, Seq seq) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kMessages, Key2(conv, seq), &v));
    return DecodeMessage(v, conv, seq);
  }

  std::vector<Result<MessageRecord>> GetMessages(std::span<const MessageKey> keys) override {
    std::vector<std::string> key_bytes;
    key_bytes.reserve(keys.size());
    for (const auto& k : keys) key_bytes.push_back(Key2(k.conv_id, k.seq));
    std::vector<rocksdb::Slice> slices(key_bytes.begin(), key_bytes.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), handles_[kMessages], keys.size(), slices.data(),
                  values.data(), statuses.data());
    std::vector<Result<MessageRecord>> out;
    out.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!statuses[i].ok()) {
        out.emplace_back(FromRocks(statuses[i]));
      } else {
        out.push_back(DecodeMessage(std::string_view(values[i].data(), values[i].size()),
                                    keys[i].conv_id, keys[i].seq));
      }
    }
    return out;
  }

  Result<std::vector<MessageRecord>> ScanMessages(ConvId conv, Seq from, bool forward,
                                                  size_t limit) override {
    std::vector<MessageRecord> out;
    auto visit = [&](std::string_view k, std::string_view v) -> Status {
      PARLEY_ASSIGN_OR_RETURN(auto m, DecodeMessage(v, conv, DecodeBigEndian64(k.substr(8))));
      out.push_back(std::move(m));
      return Status::Ok();
    };
    Status st = forward ? ScanFrom(kMessages, Key1(conv), Key2(conv, from), limit, visit)
                        : ScanBackFrom(kMessages, Key1(conv), Key2(conv, from), limit, visit);
    if (!st.ok()) return st;
    return out;
  }

  // --- inbox

  Result<std::vector<InboxEvent>> ScanInbox(UserId user, Seq after, size_t limit) override {
    std::vector<InboxEvent> out;
    if (after == UINT64_MAX) return out;  // nothing can follow; after + 1 would wrap to 0
    out.reserve(std::min<size_t>(limit, 256));
    Status st = ScanFrom(kInbox, Key1(user), Key2(user, after + 1), limit,
                         [&](std::string_view k, std::string_view v) -> Status {
                           PARLEY_ASSIGN_OR_RETURN(
                               auto e, DecodeInboxEvent(v, user, DecodeBigEndian64(k.substr(8))));
                           out.push_back(e);
                           return Status::Ok();
                         });
    if (!st.ok()) return st;
    return out;
  }

  Result<Seq> LastUserSeq(UserId user) override {
    Seq last = 0;
    Status st = ScanBackFrom(kInbox, Key1(user), Key2(user, UINT64_MAX), 1,
                             [&](std::string_view k, std::string_view) -> Status {
                               last = DecodeBigEndian64(k.substr(8));
                               return Status::Ok();
                             });
    if (!st.ok()) return st;
    if (last != 0) return last;
    PARLEY_ASSIGN_OR_RETURN(Seq floor, InboxFloor(user));
    return floor - 1;
  }

  Result<Seq> InboxFloor(UserId user) override {
    std::string v;
    Status st = Get(kInboxFloor, Key1(user), &v);
    if (st.code() == Code::kNotFound) return Seq{1};
    if (!st.ok()) return st;
    return DecodeU64(v);
  }

  Status TrimInbox(UserId user, Seq floor) override {
    PARLEY_ASSIGN_OR_RETURN(Seq last, LastUserSeq(user));
    floor = std::min(floor, last + 1);
    PARLEY_ASSIGN_OR_RETURN(Seq current, InboxFloor(user));
    if (floor <= current) return Status::Ok();
    rocksdb::WriteBatch batch;
    std::string begin = Key2(user, 0), end = Key2(user, floor), value;
    EncodeU64(floor, &value);
    // One delete per event rather than a DeleteRange: RocksDB 7.8 shares a memtable's
    // insert hints between its point and range-deletion tables, so a range deletion in the
    // inbox (which inserts with hints) corrupts the hint and trips an assertion. Trimming
    // only runs when an import ends, so its cost does not matter.
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(end);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[kInbox]));
    for (it->Seek(begin); it->Valid(); it->Next()) {
      PARLEY_RETURN_IF_ERROR(FromRocks(batch.Delete(handles_[kInbox], it->key())));
    }
    PARLEY_RETURN_IF_ERROR(FromRocks(it->status()));
    PARLEY_RETURN_IF_ERROR(FromRocks(batch.Put(handles_[kInboxFloor], Key1(user), value)));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return WriteStatus(db_->Write(wo, &batch));
  }

  // --- cursors

  Result<Seq> GetReadCursor(UserId user, ConvId conv) override {
    return GetU64OrZero(kReadCursor, Key2(user, conv));
  }

  Result<Seq> GetDeviceCursor(UserId user, std::string_view device_id) override {
    return GetU64OrZero(kDeviceCursor, KeyIdString(user, device_id));
  }

  // --- dedup

  Result<DedupRecord> GetDedup(UserId sender, std::string_view cmid, int64_t now_ms) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kDedup, KeyIdString(sender, cmid), &v));
    PARLEY_ASSIGN_OR_RETURN(auto rec, DecodeDedup(v));
    if (rec.expires_ms < now_ms) return NotFound("dedup entry expired");
    return rec;
  }

  // --- change feed

  Result<std::vector<ChangeRecord>> ScanChanges(uint64_t after, size_t limit) override {
    std::vector<ChangeRecord> out;
    if (after == UINT64_MAX) return out;  // nothing can follow; after + 1 would wrap to 0
    Status st = ScanFrom(kChanges, "", Key1(after + 1), limit,
                         [&](std::string_view k, std::string_view v) -> Status {
                           PARLEY_ASSIGN_OR_RETURN(auto c, DecodeChange(v, DecodeBigEndian64(k)));
                           out.push_back(c);
                           return Status::Ok();
                         });
    if (!st.ok()) return st;
    return out;
  }

  // --- commits

  Result<Counters> LoadCounters() override {
    std::string v;
    Status st = Get(kMeta, kCountersKey, &v);
    if (st.code() == Code::kNotFound) return Counters{};
    if (!st.ok()) return st;
    return DecodeCounters(v);
  }

  Status Apply(const WriteSet& writes, Durability durability) override {
    ApplyTiming ignored;
    return ApplyTimed(writes, durability, &ignored);
  }

  Status ApplyTimed(const WriteSet& writes, Durability durability, ApplyTiming* timing) override {
    const auto start = std::chrono::steady_clock::now();
    rocksdb::WriteBatch batch;
    std::string key, value;
    for (const WriteOp& op : writes.ops) {
      PARLEY_RETURN_IF_ERROR(
          std::visit([&](const auto& o) { return Stage(o, batch, key, value); }, op));
    }
    rocksdb::WriteOptions wo;
    wo.sync = durability == Durability::kSync;
    // RocksDB times its file syncs in the thread-local I/O stats once the perf level asks
    // for timings; the level is per thread, so set it where the writer runs.
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableTimeExceptForMutex);
    rocksdb::get_iostats_context()->fsync_nanos = 0;
    Status status = WriteStatus(db_->Write(wo, &batch));
    timing->sync_nanos = static_cast<int64_t>(rocksdb::get_iostats_context()->fsync_nanos);
    timing->total_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
    return status;
  }

  // --- invites

  Result<InviteRecord> GetInvite(std::string_view digest) override {
    std::string v;
    PARLEY_RETURN_IF_ERROR(Get(kInvites, digest, &v));
    return DecodeInvite(v, digest);
  }

  Status PutInvite(const InviteRecord& invite) override {
    std::string v;
    EncodeInvite(invite, &v);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return WriteStatus(db_->Put(wo, handles_[kInvites], ToSlice(invite.token_digest), ToSlice(v)));
  }

  Status DeleteInvite(std::string_view digest) override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return WriteStatus(db_->Delete(wo, handles_[kInvites], ToSlice(digest)));
  }

  // --- CheckpointSource

  Status Checkpoint(const std::string& dir) override {
    rocksdb::Checkpoint* raw = nullptr;
    PARLEY_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw)));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // While the write-ahead logs are small, they are copied (up to their size at this
    // moment) instead of flushing the memtables: a flush of every column family takes tens
    // of milliseconds and leaves new table files that an incremental backup must read,
    // while a few MiB of log are replayed in moments when the copy is opened. Beyond that
    // size, the memtables are flushed first and the copy holds immutable tables only.
    constexpr uint64_t kCopyLogsBelowBytes = 8u << 20;
    return FromRocks(checkpoint->CreateCheckpoint(dir, kCopyLogsBelowBytes));
  }

  RocksStoreHealth health() const override { return recovery_->health(); }

  StoreStats Stats() override {
    StoreStats s;
    auto keys = [&](Cf cf) {
      uint64_t n = 0;
      db_->GetIntProperty(handles_[cf], "rocksdb.estimate-num-keys", &n);
      return n;
    };
    s.users = keys(kUsers);
    s.conversations = keys(kConversations);
    s.messages = keys(kMessages);
    s.inbox_events = keys(kInbox);
    for (auto* h : handles_) {
      uint64_t n = 0;
      db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &n);
      s.disk_bytes += n;
    }
    return s;
  }

 private:
  using Visitor = std::function<Status(std::string_view key, std::string_view value)>;

  // A write's outcome: a full disk is kUnavailable (nothing stored; retry), not kIOError.
  Status WriteStatus(const rocksdb::Status& s) {
    return s.ok() ? Status::Ok() : recovery_->WriteFailed(s);
  }

  Status Put(rocksdb::WriteBatch& b, Cf cf, std::string_view k, std::string_view v) {
    return FromRocks(b.Put(handles_[cf], ToSlice(k), ToSlice(v)));
  }
  Status Delete(rocksdb::WriteBatch& b, Cf cf, std::string_view k) {
    return FromRocks(b.Delete(handles_[cf], ToSlice(k)));
  }

  // One Stage() per mutation kind: encode the key(s) and value and add them to the batch.
  Status Stage(const op::PutUser& o, rocksdb::WriteBatch& b, std::string& k, std::string& v) {
    v.clear();
    EncodeUser(o.user, &v);
    PARLEY_RETURN_IF_ERROR(Put(b, kUsers, Key1(o.user.id), v));
    k.clear();
    EncodeU64(o.user.id, &k);  // k reused as the value here
    return Put(b, kUsernameUser, o.user.name, k);
  }
  Status Stage(const op::PutDevice& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeDevice(o.device, &v);
    PARLEY_RETURN_IF_ERROR(Put(b, kTokenDevice, o.device.token_digest, v));
    return Put(b, kUserDevice, KeyIdString(o.device.user_id, o.device.device_id), v);
  }
  Status Stage(const op::DeleteDevice& o, rocksdb::WriteBatch& b, std::string&, std::string&) {
    PARLEY_RETURN_IF_ERROR(Delete(b, kTokenDevice, o.token_digest));
    PARLEY_RETURN_IF_ERROR(Delete(b, kDeviceCursor, KeyIdString(o.user_id, o.device_id)));
    return Delete(b, kUserDevice, KeyIdString(o.user_id, o.device_id));
  }
  Status Stage(const op::PutConversation& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeConversation(o.conv, &v);
    return Put(b, kConversations, Key1(o.conv.id), v);
  }
  Status Stage(const op::PutConvHead& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeConvHead(o.head, &v);
    return Put(b, kConvHead, Key1(o.conv_id), v);
  }
  Status Stage(const op::PutDirectPair& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeU64(o.conv_id, &v);
    return Put(b, kDirectPair, Key2(std::min(o.a, o.b), std::max(o.a, o.b)), v);
  }
  Status Stage(const op::PutMember& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeMember(o.member, &v);
    PARLEY_RETURN_IF_ERROR(Put(b, kConvMember, Key2(o.member.conv_id, o.member.user_id), v));
    return Put(b, kUserConv, Key2(o.member.user_id, o.member.conv_id), v);
  }
  Status Stage(const op::DeleteMember& o, rocksdb::WriteBatch& b, std::string&, std::string&) {
    PARLEY_RETURN_IF_ERROR(Delete(b, kConvMember, Key2(o.conv_id, o.user_id)));
    PARLEY_RETURN_IF_ERROR(Delete(b, kReadCursor, Key2(o.user_id, o.conv_id)));
    return Delete(b, kUserConv, Key2(o.user_id, o.conv_id));
  }
  Status Stage(const op::PutMessage& o, rocksdb::WriteBatch& b, std::string& k, std::string& v) {
    v.clear();
    EncodeMessage(o.message, &v);
    k.clear();
    Writer w(&k);
    w.BigEndian64(o.message.conv_id);
    w.BigEndian64(o.message.seq);
    return Put(b, kMessages, k, v);
  }
  Status Stage(const op::PutInboxEvent& o, rocksdb::WriteBatch& b, std::string& k, std::string& v) {
    v.clear();
    EncodeInboxEvent(o.event, &v);
    k.clear();
    Writer w(&k);
    w.BigEndian64(o.event.user_id);
    w.BigEndian64(o.event.user_seq);
    return Put(b, kInbox, k, v);
  }
  Status Stage(const op::PutReadCursor& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeU64(o.seq, &v);
    return Put(b, kReadCursor, Key2(o.user_id, o.conv_id), v);
  }
  Status Stage(const op::PutDeviceCursor& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeU64(o.seq, &v);
    return Put(b, kDeviceCursor, KeyIdString(o.user_id, o.device_id), v);
  }
  Status Stage(const op::PutDedup& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeDedup(o.record, &v);
    return Put(b, kDedup, KeyIdString(o.sender, o.client_msg_id), v);
  }
  Status Stage(const op::PutChange& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeChange(o.change, &v);
    return Put(b, kChanges, Key1(o.change.gseq), v);
  }
  Status Stage(const op::PutCounters& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeCounters(o.counters, &v);
    return Put(b, kMeta, kCountersKey, v);
  }

  Status Stage(const op::PutBlock& o, rocksdb::WriteBatch& b, std::string&, std::string& v) {
    v.clear();
    EncodeBlock(o.block, &v);
    return Put(b, kUserBlock, Key2(o.block.blocker, o.block.blocked), v);
  }
  Status Stage(const op::DeleteBlock& o, rocksdb::WriteBatch& b, std::string&, std::string&) {
    return Delete(b, kUserBlock, Key2(o.blocker, o.blocked));
  }

  Status Get(Cf cf, std::string_view key, std::string* value) {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), handles_[cf], ToSlice(key), value));
  }

  Result<uint64_t> GetU64OrZero(Cf cf, const std::string& key) {
    std::string v;
    Status st = Get(cf, key, &v);
    if (st.code() == Code::kNotFound) return uint64_t{0};
    if (!st.ok()) return st;
    return DecodeU64(v);
  }

  Result<std::vector<MemberRecord>> ScanMembers(Cf cf, uint64_t id, bool key_is_conv_first) {
    std::vector<MemberRecord> out;
    Status st =
        ScanPrefix(cf, Key1(id), SIZE_MAX, [&](std::string_view k, std::string_view v) -> Status {
          uint64_t other = DecodeBigEndian64(k.substr(8));
          auto m = key_is_conv_first ? DecodeMember(v, id, other) : DecodeMember(v, other, id);
          if (!m.ok()) return m.status();
          out.push_back(*m);
          return Status::Ok();
        });
    if (!st.ok()) return st;
    return out;
  }

  Status ScanPrefix(Cf cf, const std::string& prefix, size_t limit, const Visitor& visit) {
    return ScanFrom(cf, prefix, prefix, limit, visit);
  }

  // Visits keys >= start that begin with `prefix`, ascending, at most `limit`.
  Status ScanFrom(Cf cf, const std::string& prefix, const std::string& start, size_t limit,
                  const Visitor& visit) {
    rocksdb::ReadOptions ro;
    std::string upper = PrefixEnd(prefix);
    rocksdb::Slice upper_slice(upper);
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    if (HasIdPrefix(cf)) ro.prefix_same_as_start = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[cf]));
    size_t n = 0;
    for (it->Seek(start); it->Valid() && n < limit; it->Next(), ++n) {
      PARLEY_RETURN_IF_ERROR(visit(std::string_view(it->key().data(), it->key().size()),
                                   std::string_view(it->value().data(), it->value().size())));
    }
    return FromRocks(it->status());
  }

  // Visits keys <= start that begin with `prefix`, descending, at most `limit`.
  Status ScanBackFrom(Cf cf, const std::string& prefix, const std::string& start, size_t limit,
                      const Visitor& visit) {
    rocksdb::ReadOptions ro;
    rocksdb::Slice lower_slice(prefix);
    ro.iterate_lower_bound = &lower_slice;
    if (HasIdPrefix(cf)) ro.prefix_same_as_start = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[cf]));
    size_t n = 0;
    for (it->SeekForPrev(start); it->Valid() && n < limit; it->Prev(), ++n) {
      PARLEY_RETURN_IF_ERROR(visit(std::string_view(it->key().data(), it->key().size()),
                                   std::string_view(it->value().data(), it->value().size())));
    }
    return FromRocks(it->status());
  }

  // The smallest key greater than every key with `prefix` ("" when there is none).
  static std::string PrefixEnd(std::string prefix) {
    while (!prefix.empty()) {
      auto& c = reinterpret_cast<unsigned char&>(prefix.back());
      if (c != 0xff) {
        ++c;
        return prefix;
      }
      prefix.pop_back();
    }
    return prefix;
  }

  DedupExpiryFilter dedup_filter_;  // must outlive db_
  // A listener of db_ (shared with its options); stopped before db_ closes.
  std::shared_ptr<RocksRecovery> recovery_ = std::make_shared<RocksRecovery>();
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace

Result<std::unique_ptr<RocksStore>> OpenRocksStore(const std::string& path,
                                                   const RocksStoreOptions& options) {
  auto store = std::make_unique<RocksStoreImpl>();
  PARLEY_RETURN_IF_ERROR(store->Open(path, options));
  return std::unique_ptr<RocksStore>(std::move(store));
}

}  // namespace parley
