#include "pg/pg_write_plan.h"

#include <algorithm>

#include "store/record_codec.h"

namespace parley::pg {

namespace {

struct Column {
  const char* name;
  Oid type;
};

struct TableSpec {
  const char* table;
  std::vector<Column> key;
  std::vector<Column> values;
  // The SET clause on conflict; empty: every value column takes the new value.
  const char* on_conflict = "";
};

const TableSpec& Spec(Table t) {
  static const TableSpec specs[kTableCount] = {
      {"users", {{"id", kInt8Oid}}, {{"name", kByteaOid}, {"rec", kByteaOid}}},
      {"device_tokens", {{"token_digest", kByteaOid}}, {{"rec", kByteaOid}}},
      {"user_devices", {{"user_id", kInt8Oid}, {"device_id", kByteaOid}}, {{"rec", kByteaOid}}},
      {"device_cursors", {{"user_id", kInt8Oid}, {"device_id", kByteaOid}}, {{"seq", kInt8Oid}}},
      {"conversations", {{"id", kInt8Oid}}, {{"rec", kByteaOid}}},
      {"conv_heads", {{"conv_id", kInt8Oid}}, {{"last_seq", kInt8Oid}, {"rec", kByteaOid}}},
      {"direct_pairs", {{"a", kInt8Oid}, {"b", kInt8Oid}}, {{"conv_id", kInt8Oid}}},
      {"members", {{"conv_id", kInt8Oid}, {"user_id", kInt8Oid}}, {{"rec", kByteaOid}}},
      {"messages", {{"conv_id", kInt8Oid}, {"seq", kInt8Oid}}, {{"rec", kByteaOid}}},
      {"inbox", {{"user_id", kInt8Oid}, {"user_seq", kInt8Oid}}, {{"rec", kByteaOid}}},
      // The highest user_seq ever given, kept across trimming: it only grows.
      {"inbox_heads",
       {{"user_id", kInt8Oid}},
       {{"last_user_seq", kInt8Oid}},
       "last_user_seq = GREATEST(inbox_heads.last_user_seq, EXCLUDED.last_user_seq)"},
      {"read_cursors", {{"user_id", kInt8Oid}, {"conv_id", kInt8Oid}}, {{"seq", kInt8Oid}}},
      {"dedup",
       {{"sender", kInt8Oid}, {"client_msg_id", kByteaOid}},
       {{"expires_ms", kInt8Oid}, {"rec", kByteaOid}}},
      {"changes", {{"gseq", kInt8Oid}}, {{"rec", kByteaOid}}},
      {"blocks", {{"blocker", kInt8Oid}, {"blocked", kInt8Oid}}, {{"rec", kByteaOid}}},
  };
  return specs[t];
}

std::string TypeName(Oid type) { return type == kInt8Oid ? "int8" : "bytea"; }

TableStatements Build(Table t) {
  const TableSpec& s = Spec(t);
  TableStatements out;
  std::string cols, unnest, keys, set;
  int n = 0;
  auto add = [&](const Column& c) {
    if (!cols.empty()) {
      cols += ", ";
      unnest += ", ";
    }
    cols += c.name;
    unnest += "$" + std::to_string(++n) + "::" + TypeName(c.type) + "[]";
  };
  for (const auto& c : s.key) {
    add(c);
    out.key_types.push_back(c.type);
    keys += std::string(keys.empty() ? "" : ", ") + c.name;
  }
  std::string key_unnest = unnest;
  for (const auto& c : s.values) {
    add(c);
    out.value_types.push_back(c.type);
    set += std::string(set.empty() ? "" : ", ") + c.name + " = EXCLUDED." + c.name;
  }
  if (*s.on_conflict != '\0') set = s.on_conflict;
  out.upsert_name = std::string("parley_upsert_") + s.table;
  out.upsert_sql = std::string("INSERT INTO ") + s.table + " (" + cols + ") SELECT * FROM unnest(" +
                   unnest + ") ON CONFLICT (" + keys + ") DO UPDATE SET " + set;
  out.delete_name = std::string("parley_delete_") + s.table;
  out.delete_sql = std::string("DELETE FROM ") + s.table + " WHERE (" + keys +
                   ") IN (SELECT * FROM unnest(" + key_unnest + "))";
  return out;
}

Cell I(uint64_t v) {
  const uint64_t n = static_cast<uint64_t>(ToInt8(v));
  Cell out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (56 - 8 * i));
  return out;
}

template <typename R>
std::string Enc(const R& record, void (*encode)(const R&, std::string*)) {
  std::string out;
  encode(record, &out);
  return out;
}

// Both column types go as their bytes: see Cell.
void AddColumn(ArrayBuilder& a, const Cell& c) { a.AddBytes(c); }

}  // namespace

const TableStatements& StatementsFor(Table t) {
  static const std::vector<TableStatements> all = [] {
    std::vector<TableStatements> v;
    for (int i = 0; i < kTableCount; ++i) v.push_back(Build(static_cast<Table>(i)));
    return v;
  }();
  return all[t];
}

WritePlan::WritePlan(const WriteSet& writes) {
  for (const WriteOp& op : writes.ops) Add(op);
}

void WritePlan::Add(const WriteOp& op) {
  struct Visitor {
    WritePlan* p;
    void operator()(const op::PutUser& o) {
      p->Put(kUsers, {I(o.user.id)}, {o.user.name, Enc(o.user, &EncodeUser)});
    }
    void operator()(const op::PutDevice& o) {
      std::string rec = Enc(o.device, &EncodeDevice);
      p->Put(kDeviceTokens, {o.device.token_digest}, {rec});
      p->Put(kUserDevices, {I(o.device.user_id), o.device.device_id}, {rec});
    }
    void operator()(const op::DeleteDevice& o) {
      p->Delete(kDeviceTokens, {o.token_digest});
      p->Delete(kDeviceCursors, {I(o.user_id), o.device_id});
      p->Delete(kUserDevices, {I(o.user_id), o.device_id});
    }
    void operator()(const op::PutConversation& o) {
      p->Put(kConversations, {I(o.conv.id)}, {Enc(o.conv, &EncodeConversation)});
    }
    void operator()(const op::PutConvHead& o) {
      p->Put(kConvHeads, {I(o.conv_id)}, {I(o.head.last_seq), Enc(o.head, &EncodeConvHead)});
    }
    void operator()(const op::PutDirectPair& o) {
      p->Put(kDirectPairs, {I(std::min(o.a, o.b)), I(std::max(o.a, o.b))}, {I(o.conv_id)});
    }
    void operator()(const op::PutMember& o) {
      p->Put(kMembers, {I(o.member.conv_id), I(o.member.user_id)}, {Enc(o.member, &EncodeMember)});
    }
    void operator()(const op::DeleteMember& o) {
      p->Delete(kMembers, {I(o.conv_id), I(o.user_id)});
      p->Delete(kReadCursors, {I(o.user_id), I(o.conv_id)});
    }
    void operator()(const op::PutMessage& o) {
      p->Put(kMessages, {I(o.message.conv_id), I(o.message.seq)}, {Enc(o.message, &EncodeMessage)});
    }
    void operator()(const op::PutInboxEvent& o) {
      p->Put(kInbox, {I(o.event.user_id), I(o.event.user_seq)}, {Enc(o.event, &EncodeInboxEvent)});
      // The head keeps the highest user_seq of the batch (and GREATEST in SQL keeps the
      // highest ever).
      auto& heads = p->tables_[kInboxHeads];
      auto it = heads.find(Cells{I(o.event.user_id)});
      if (it == heads.end() || !it->second || (*it->second)[0] < I(o.event.user_seq)) {
        p->Put(kInboxHeads, {I(o.event.user_id)}, {I(o.event.user_seq)});
      }
    }
    void operator()(const op::PutReadCursor& o) {
      p->Put(kReadCursors, {I(o.user_id), I(o.conv_id)}, {I(o.seq)});
    }
    void operator()(const op::PutDeviceCursor& o) {
      p->Put(kDeviceCursors, {I(o.user_id), o.device_id}, {I(o.seq)});
    }
    void operator()(const op::PutDedup& o) {
      p->Put(kDedup, {I(o.sender), o.client_msg_id},
             {I(static_cast<uint64_t>(o.record.expires_ms)), Enc(o.record, &EncodeDedup)});
    }
    void operator()(const op::PutChange& o) {
      p->Put(kChanges, {I(o.change.gseq)}, {Enc(o.change, &EncodeChange)});
    }
    void operator()(const op::PutCounters& o) { p->counters_ = o.counters; }
    void operator()(const op::PutBlock& o) {
      p->Put(kBlocks, {I(o.block.blocker), I(o.block.blocked)}, {Enc(o.block, &EncodeBlock)});
    }
    void operator()(const op::DeleteBlock& o) { p->Delete(kBlocks, {I(o.blocker), I(o.blocked)}); }
  };
  std::visit(Visitor{this}, op);
}

void WritePlan::Queue(Connection& conn) const {
  for (int t = 0; t < kTableCount; ++t) {
    const auto& changes = tables_[t];
    if (changes.empty()) continue;
    const TableStatements& st = StatementsFor(static_cast<Table>(t));
    std::vector<ArrayBuilder> put_keys, put_values, del_keys;
    for (Oid type : st.key_types) {
      put_keys.emplace_back(type);
      del_keys.emplace_back(type);
    }
    for (Oid type : st.value_types) put_values.emplace_back(type);
    for (const auto& [key, values] : changes) {
      if (values) {
        for (size_t i = 0; i < key.size(); ++i) AddColumn(put_keys[i], key[i]);
        for (size_t i = 0; i < values->size(); ++i) AddColumn(put_values[i], (*values)[i]);
      } else {
        for (size_t i = 0; i < key.size(); ++i) AddColumn(del_keys[i], key[i]);
      }
    }
    if (del_keys[0].size() != 0) {
      Params p;
      for (const auto& a : del_keys) p.Array(a);
      conn.PipelineQuery(st.erase(), std::move(p));
    }
    if (put_keys[0].size() != 0) {
      Params p;
      for (const auto& a : put_keys) p.Array(a);
      for (const auto& a : put_values) p.Array(a);
      conn.PipelineQuery(st.upsert(), std::move(p));
    }
  }
}

}  // namespace parley::pg
