// A thin RAII layer over libpq: one connection, binary parameters and results, prepared
// statements prepared lazily per connection, and pipelines (libpq's pipeline mode: many
// statements sent in one round trip, results read in order).
//
// Every call returns a Status. A connection that failed at the network level reports
// kUnavailable and is_broken() turns true: the owner drops it and opens a new one (libpq
// re-resolves a multi-host URL with target_session_attrs=read-write on each connect, so a
// new connection follows a promoted standby). SQL errors report kIOError with the server's
// SQLSTATE and message.
//
// Thread-safety: a Connection is used by one thread at a time (libpq's rule); hand it over
// with a happens-before (a mutex, a pool).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/status.h"

namespace parley::pg {

// PostgreSQL type oids of the parameters Parley sends.
inline constexpr Oid kInt8Oid = 20;
inline constexpr Oid kByteaOid = 17;
inline constexpr Oid kInt8ArrayOid = 1016;
inline constexpr Oid kByteaArrayOid = 1001;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// A uint64 as PostgreSQL's signed int8: ids and sequence numbers stay far below 2^63, and
// "from the newest" bounds (UINT64_MAX) are clamped so that comparisons keep their sense.
inline int64_t ToInt8(uint64_t v) {
  return v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
}

// A one-dimensional array in PostgreSQL's binary array format, of int8 or bytea.
class ArrayBuilder {
 public:
  explicit ArrayBuilder(Oid element) : element_(element) {}
  void AddInt8(int64_t v);
  void AddBytes(std::string_view v);
  size_t size() const { return count_; }
  std::string Finish() const;
  Oid array_oid() const { return element_ == kInt8Oid ? kInt8ArrayOid : kByteaArrayOid; }

 private:
  Oid element_;
  size_t count_ = 0;
  std::string elements_;
};

// The parameters of one statement, all sent in binary format.
class Params {
 public:
  Params& Int8(int64_t v);
  Params& Uint8(uint64_t v) { return Int8(ToInt8(v)); }
  Params& Bytes(std::string_view v);
  Params& Array(const ArrayBuilder& a);

  int count() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  const char* const* values() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<Oid> types_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  mutable std::vector<const char*> pointers_;
};

// Reading binary result columns (int8, bytea).
int64_t GetInt8(const PGresult* r, int row, int col);
std::string_view GetBytes(const PGresult* r, int row, int col);
inline bool IsNull(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

// A named statement, prepared on first use on each connection.
struct Statement {
  const char* name;
  const char* sql;
};

class Connection {
 public:
  // `conninfo`: a libpq URL or key=value string (multi-host allowed). `schema`: set as the
  // search_path of the session. `application_name` shows in pg_stat_activity.
  static Result<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                  const std::string& schema,
                                                  const std::string& application_name);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A text command without parameters (DDL, BEGIN, COMMIT).
  Status Exec(std::string_view sql);
  // A statement with binary parameters and binary results; rows in *out when given.
  Status Query(const Statement& st, const Params& params, ResultPtr* out = nullptr);

  // Pipeline: queue statements, then Flush() sends them (with one Sync) and collects every
  // result in order. The first failure is returned; statements after it were skipped by
  // the server. An open transaction in error is rolled back.
  void PipelineExec(std::string_view sql);
  void PipelineQuery(const Statement& st, Params params);
  Status Flush(std::vector<ResultPtr>* results = nullptr);

  bool is_broken() const { return broken_; }
  PGconn* raw() { return conn_; }
  // The server's transaction state (PQtransactionStatus).
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  Status Prepare(const Statement& st, const Params& params);
  Status CheckResult(const PGresult* r, std::string_view what);
  Status Broken(std::string_view what);

  struct Queued {
    bool is_statement = false;  // false: the text command `sql`
    Statement statement{};
    std::string sql;
    Params params;
  };

  PGconn* conn_;
  bool broken_ = false;
  std::unordered_set<std::string> prepared_;
  std::vector<Queued> queued_;
};

}  // namespace parley::pg
