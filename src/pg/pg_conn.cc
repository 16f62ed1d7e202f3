#include "pg/pg_conn.h"

#include <arpa/inet.h>

#include <cstring>

namespace parley::pg {

namespace {

void PutBig32(std::string* out, uint32_t v) {
  v = htonl(v);
  out->append(reinterpret_cast<const char*>(&v), 4);
}

void PutBig64(std::string* out, uint64_t v) {
  PutBig32(out, static_cast<uint32_t>(v >> 32));
  PutBig32(out, static_cast<uint32_t>(v));
}

std::string ErrorText(const char* text) {
  std::string s = text == nullptr ? "" : text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

// --- ArrayBuilder

void ArrayBuilder::AddInt8(int64_t v) {
  PutBig32(&elements_, 8);
  PutBig64(&elements_, static_cast<uint64_t>(v));
  ++count_;
}

void ArrayBuilder::AddBytes(std::string_view v) {
  PutBig32(&elements_, static_cast<uint32_t>(v.size()));
  elements_.append(v);
  ++count_;
}

std::string ArrayBuilder::Finish() const {
  // Header: dimensions, has-nulls flag, element type; then per dimension its length and
  // lower bound (1). An empty array is written with zero dimensions.
  std::string out;
  out.reserve(20 + elements_.size());
  PutBig32(&out, count_ == 0 ? 0 : 1);
  PutBig32(&out, 0);
  PutBig32(&out, element_);
  if (count_ != 0) {
    PutBig32(&out, static_cast<uint32_t>(count_));
    PutBig32(&out, 1);
  }
  out += elements_;
  return out;
}

// --- Params

Params& Params::Int8(int64_t v) {
  std::string bytes;
  PutBig64(&bytes, static_cast<uint64_t>(v));
  values_.push_back(std::move(bytes));
  types_.push_back(kInt8Oid);
  lengths_.push_back(8);
  formats_.push_back(1);
  return *this;
}

Params& Params::Bytes(std::string_view v) {
  values_.emplace_back(v);
  types_.push_back(kByteaOid);
  lengths_.push_back(static_cast<int>(v.size()));
  formats_.push_back(1);
  return *this;
}

Params& Params::Array(const ArrayBuilder& a) {
  values_.push_back(a.Finish());
  types_.push_back(a.array_oid());
  lengths_.push_back(static_cast<int>(values_.back().size()));
  formats_.push_back(1);
  return *this;
}

const char* const* Params::values() const {
  pointers_.clear();
  for (const auto& v : values_) pointers_.push_back(v.data());
  return pointers_.data();
}

// --- results

int64_t GetInt8(const PGresult* r, int row, int col) {
  const char* p = PQgetvalue(r, row, col);
  if (PQgetlength(r, row, col) != 8) return 0;
  uint32_t hi, lo;
  std::memcpy(&hi, p, 4);
  std::memcpy(&lo, p + 4, 4);
  return static_cast<int64_t>((static_cast<uint64_t>(ntohl(hi)) << 32) | ntohl(lo));
}

std::string_view GetBytes(const PGresult* r, int row, int col) {
  return std::string_view(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

// --- Connection

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo,
                                                     const std::string& schema,
                                                     const std::string& application_name) {
  // Defaults first: the keywords of `conninfo` (expanded from dbname) override them. The
  // keepalives notice a primary that vanished without closing its sockets.
  const char* keys[] = {
      "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "dbname",          nullptr};
  const char* values[] = {"3",    "1", "5", "2", "3", application_name.c_str(), conninfo.c_str(),
                          nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (raw == nullptr) return Status(Code::kUnavailable, "postgres: out of memory");
  std::unique_ptr<Connection> conn(new Connection(raw));
  // Notices ("relation already exists, skipping") are not errors; keep them off stderr.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (PQstatus(raw) != CONNECTION_OK) {
    return Status(Code::kUnavailable,
                  "postgres: cannot connect: " + ErrorText(PQerrorMessage(raw)));
  }
  if (!schema.empty()) {
    std::string quoted = "SET search_path TO \"";
    for (char c : schema) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    PARLEY_RETURN_IF_ERROR(conn->Exec(quoted + "\""));
  }
  return conn;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Status Connection::Broken(std::string_view what) {
  broken_ = true;
  return Status(Code::kUnavailable, std::string("postgres: ") + std::string(what) + ": " +
                                        ErrorText(PQerrorMessage(conn_)));
}

Status Connection::CheckResult(const PGresult* r, std::string_view what) {
  if (r == nullptr) return Broken(what);
  switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_PIPELINE_SYNC:
      return Status::Ok();
    default:
      break;
  }
  if (PQstatus(conn_) != CONNECTION_OK) return Broken(what);
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string message = std::string("postgres: ") + std::string(what) + ": " +
                        (state ? std::string(state) + " " : "") +
                        ErrorText(PQresultErrorMessage(r));
  // Class 08 (connection exception), 57P (operator intervention: shutdown, terminated),
  // 25006 (read-only transaction: we reached a standby) mean "try again elsewhere/later".
  if (state != nullptr &&
      (std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "57P", 3) == 0 ||
       std::strcmp(state, "25006") == 0)) {
    broken_ = true;
    return Status(Code::kUnavailable, message);
  }
  return Status(Code::kIOError, message);
}

Status Connection::Exec(std::string_view sql) {
  std::string text(sql);
  ResultPtr r(PQexec(conn_, text.c_str()));
  return CheckResult(r.get(), text);
}

Status Connection::Prepare(const Statement& st, const Params& params) {
  if (prepared_.count(st.name) != 0) return Status::Ok();
  ResultPtr r(PQprepare(conn_, st.name, st.sql, params.count(), params.types()));
  PARLEY_RETURN_IF_ERROR(CheckResult(r.get(), st.name));
  prepared_.insert(st.name);
  return Status::Ok();
}

Status Connection::Query(const Statement& st, const Params& params, ResultPtr* out) {
  PARLEY_RETURN_IF_ERROR(Prepare(st, params));
  ResultPtr r(PQexecPrepared(conn_, st.name, params.count(), params.values(), params.lengths(),
                             params.formats(), /*resultFormat=*/1));
  PARLEY_RETURN_IF_ERROR(CheckResult(r.get(), st.name));
  if (out != nullptr) *out = std::move(r);
  return Status::Ok();
}

void Connection::PipelineExec(std::string_view sql) {
  queued_.push_back(Queued{false, Statement{}, std::string(sql), Params()});
}

void Connection::PipelineQuery(const Statement& st, Params params) {
  queued_.push_back(Queued{true, st, "", std::move(params)});
}

Status Connection::Flush(std::vector<ResultPtr>* results) {
  std::vector<Queued> queued = std::move(queued_);
  queued_.clear();
  if (queued.empty()) return Status::Ok();
  // Statements are prepared before the pipeline starts (once per connection).
  for (const Queued& q : queued) {
    if (q.is_statement) PARLEY_RETURN_IF_ERROR(Prepare(q.statement, q.params));
  }
  if (PQenterPipelineMode(conn_) != 1) return Broken("enter pipeline mode");
  for (const Queued& q : queued) {
    int sent =
        q.is_statement
            ? PQsendQueryPrepared(conn_, q.statement.name, q.params.count(), q.params.values(),
                                  q.params.lengths(), q.params.formats(), 1)
            : PQsendQueryParams(conn_, q.sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
    if (sent != 1) return Broken("send in pipeline");
  }
  if (PQpipelineSync(conn_) != 1) return Broken("pipeline sync");
  Status first = Status::Ok();
  for (const Queued& q : queued) {
    // Each statement's results end with a null; an aborted one reports PIPELINE_ABORTED.
    ResultPtr last;
    for (;;) {
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) break;
      last.reset(r);
      if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) continue;
      if (first.ok()) {
        Status st = CheckResult(r, q.is_statement ? q.statement.name : q.sql);
        if (!st.ok()) first = st;
      }
    }
    if (broken_ || PQstatus(conn_) != CONNECTION_OK) return Broken("pipeline result");
    if (results != nullptr) results->push_back(std::move(last));
  }
  ResultPtr sync(PQgetResult(conn_));
  if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    return Broken("pipeline end");
  }
  if (PQexitPipelineMode(conn_) != 1) return Broken("exit pipeline mode");
  if (!first.ok() && transaction_status() == PQTRANS_INERROR) {
    Status rollback = Exec("ROLLBACK");
    if (!rollback.ok()) broken_ = true;
  }
  return first;
}

}  // namespace parley::pg
