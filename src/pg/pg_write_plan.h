// WritePlan: a WriteSet turned into a few set-based SQL statements.
//
// A WriteSet is an ordered list of puts and deletes in which a later put of the same key
// wins. The plan folds it per table into the final state of each key (put with its values,
// or delete), so each table needs at most one multi-row upsert (`INSERT ... SELECT FROM
// unnest($1::int8[], ...) ON CONFLICT DO UPDATE`) and one multi-row delete, with every
// column sent as one binary array. With one final action per key, the statements can run
// in any order inside the transaction.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pg/pg_conn.h"
#include "store/write_set.h"

namespace parley::pg {

// A column value as sent: int8 as its 8 bytes big-endian (which is also the array
// element's binary form, and sorts like the number for the non-negative ids and
// sequences stored here), bytea as its bytes.
using Cell = std::string;
using Cells = std::vector<Cell>;

enum Table : int {
  kUsers,
  kDeviceTokens,
  kUserDevices,
  kDeviceCursors,
  kConversations,
  kConvHeads,
  kDirectPairs,
  kMembers,
  kMessages,
  kInbox,
  kInboxHeads,
  kReadCursors,
  kDedup,
  kChanges,
  kBlocks,
  kTableCount
};

// The statements of one table, built once.
struct TableStatements {
  std::string upsert_name, upsert_sql, delete_name, delete_sql;
  Statement upsert() const { return {upsert_name.c_str(), upsert_sql.c_str()}; }
  Statement erase() const { return {delete_name.c_str(), delete_sql.c_str()}; }
  std::vector<Oid> key_types, value_types;
};
const TableStatements& StatementsFor(Table t);

class WritePlan {
 public:
  explicit WritePlan(const WriteSet& writes);

  // Queues the plan's statements on `conn`'s pipeline.
  void Queue(Connection& conn) const;
  const std::optional<Counters>& counters() const { return counters_; }

 private:
  void Put(Table t, Cells key, Cells values) { tables_[t][std::move(key)] = std::move(values); }
  void Delete(Table t, Cells key) { tables_[t][std::move(key)] = std::nullopt; }
  void Add(const WriteOp& op);

  std::map<Cells, std::optional<Cells>> tables_[kTableCount];
  std::optional<Counters> counters_;
};

}  // namespace parley::pg
