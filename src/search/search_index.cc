#include "search/search_index.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <functional>
#include <unordered_set>

#include "search/fts5_tokenizer.h"
#include "search/query.h"
#include "search/scope_filter.h"

namespace parley::search {
namespace {

constexpr char kSchema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages USING fts5("
    "  body, conv, sender, seq UNINDEXED, ts UNINDEXED, tokenize = 'porter parley');"
    "INSERT OR IGNORE INTO meta VALUES ('checkpoint', 0), ('docs', 0);";

// Snippet markers: control characters a message body practically never holds; any that
// it does are removed from the snippet.
constexpr char kOpen = '\x01', kClose = '\x02';

// Scopes up to this many conversations go into the match expression (see Search).
constexpr size_t kScopeInMatch = 16;
// Candidates examined per page at most.
constexpr size_t kMaxScan = 50000;
// Relevance ranks this many of the most recent matches.
constexpr size_t kRelevanceWindow = 500;

Status SqlError(sqlite3* db, std::string_view what) {
  return Status(Code::kIOError,
                std::string("search index: ") + std::string(what) + ": " + sqlite3_errmsg(db));
}

// Plain text and code-point spans from a snippet with kOpen/kClose markers.
void ParseSnippet(std::string_view marked, SearchHit* hit) {
  uint32_t cp = 0, open_at = 0;
  bool open = false;
  for (char c : marked) {
    if (c == kOpen) {
      open = true;
      open_at = cp;
    } else if (c == kClose) {
      if (open && cp > open_at) hit->highlights.emplace_back(open_at, cp - open_at);
      open = false;
    } else {
      hit->snippet.push_back(c);
      if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++cp;  // not a continuation
    }
  }
}

}  // namespace

// One SQLite connection with the statements it reuses.
class SearchIndex::Conn {
 public:
  explicit Conn(sqlite3* handle) : db(handle) {}
  ~Conn() {
    for (sqlite3_stmt* s : {insert, remove, set_meta, newest, ranked}) sqlite3_finalize(s);
    sqlite3_close_v2(db);
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return Status::Ok();
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    return Status(Code::kIOError, "search index: " + msg);
  }
  Status Prepare(const char* sql, sqlite3_stmt** out) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) == SQLITE_OK) {
      return Status::Ok();
    }
    return SqlError(db, "prepare");
  }
  Result<int64_t> Meta(const char* key) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &s, nullptr) !=
        SQLITE_OK) {
      return SqlError(db, "read meta");
    }
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  Status SetMeta(const char* key, int64_t value) {
    sqlite3_bind_text(set_meta, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(set_meta, 2, value);
    return StepDone(set_meta, "write meta");
  }
  Status StepDone(sqlite3_stmt* s, std::string_view what) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? Status::Ok() : SqlError(db, what);
  }

  sqlite3* db;
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* remove = nullptr;
  sqlite3_stmt* set_meta = nullptr;
  sqlite3_stmt* newest = nullptr;
  sqlite3_stmt* ranked = nullptr;
};

SearchIndex::SearchIndex(std::string path) : path_(std::move(path)) {}
SearchIndex::~SearchIndex() = default;

Result<std::unique_ptr<SearchIndex::Conn>> SearchIndex::Connect() {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path_.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto conn = std::make_unique<Conn>(db);
  if (rc != SQLITE_OK) return SqlError(db, "open " + path_);
  sqlite3_busy_timeout(db, 5000);
  PARLEY_RETURN_IF_ERROR(RegisterTokenizer(db));
  PARLEY_RETURN_IF_ERROR(conn->Exec(kSchema));
  PARLEY_RETURN_IF_ERROR(conn->Prepare(
      "INSERT INTO messages(rowid, body, conv, sender, seq, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      &conn->insert));
  PARLEY_RETURN_IF_ERROR(conn->Prepare("DELETE FROM messages WHERE rowid = ?1", &conn->remove));
  PARLEY_RETURN_IF_ERROR(
      conn->Prepare("UPDATE meta SET value = ?2 WHERE key = ?1", &conn->set_meta));
  PARLEY_RETURN_IF_ERROR(RegisterScopeFunction(db));
  // ?1 match, ?2 rowid bound, ?3/?4 time range, ?5 the ScopeFilter, ?6 limit.
  // snippet(): column 0 (body), markers, ellipsis, at most 24 tokens around the matches;
  // SQLite computes it only for rows that pass the WHERE clause, the scope included.
  // bm25() only where ranking needs it: it counts each phrase's matches over the whole
  // index on first use, which costs milliseconds for frequent words.
  for (bool ranked : {false, true}) {
    const std::string sql =
        std::string(
            "SELECT rowid, conv, seq, sender, ts, "
            "snippet(messages, 0, char(1), char(2), '…', 24), ") +
        (ranked ? "bm25(messages)" : "0") +
        " FROM messages WHERE messages MATCH ?1 AND rowid < ?2 AND ts >= ?3 AND ts < ?4 "
        "AND parley_in_scope(conv, rowid, ?5) ORDER BY rowid DESC LIMIT ?6";
    PARLEY_RETURN_IF_ERROR(conn->Prepare(sql.c_str(), ranked ? &conn->ranked : &conn->newest));
  }
  return conn;
}

Result<std::unique_ptr<SearchIndex>> SearchIndex::Open(const std::string& path, bool* rebuilt) {
  *rebuilt = false;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::unique_ptr<SearchIndex> index(new SearchIndex(path));
  auto writer = index->Connect();
  bool usable = false;
  if (writer.ok()) {
    auto format = (*writer)->Meta("format");
    if (format.ok() && *format == kIndexFormat) {
      usable = true;
    } else if (format.ok() && *format == -1) {  // a new file
      auto checkpoint = (*writer)->Meta("checkpoint");
      usable =
          checkpoint.ok() && *checkpoint == 0 &&
          (*writer)
              ->Exec(("INSERT INTO meta VALUES ('format', " + std::to_string(kIndexFormat) + ")")
                         .c_str())
              .ok();
    }
  }
  if (!usable) {
    // Another format or unreadable: start over; the change feed refills it.
    writer = Status(Code::kInternal, "closed");
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    *rebuilt = true;
    writer = index->Connect();
    if (!writer.ok()) return writer.status();
    PARLEY_RETURN_IF_ERROR((*writer)->Exec(
        ("INSERT INTO meta VALUES ('format', " + std::to_string(kIndexFormat) + ")").c_str()));
  }
  index->writer_ = std::move(*writer);
  PARLEY_ASSIGN_OR_RETURN(int64_t checkpoint, index->writer_->Meta("checkpoint"));
  index->checkpoint_ = static_cast<uint64_t>(checkpoint);
  return index;
}

Status SearchIndex::Apply(const IndexBatch& batch) {
  Conn& c = *writer_;
  PARLEY_RETURN_IF_ERROR(c.Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    PARLEY_ASSIGN_OR_RETURN(int64_t docs, c.Meta("docs"));
    auto remove = [&](uint64_t msg_id) -> Status {
      sqlite3_bind_int64(c.remove, 1, static_cast<int64_t>(msg_id));
      PARLEY_RETURN_IF_ERROR(c.StepDone(c.remove, "remove"));
      docs -= sqlite3_changes(c.db);
      return Status::Ok();
    };
    for (uint64_t msg_id : batch.removals) PARLEY_RETURN_IF_ERROR(remove(msg_id));
    for (const IndexedMessage& m : batch.upserts) {
      if (m.replace) PARLEY_RETURN_IF_ERROR(remove(m.msg_id));
      sqlite3_bind_int64(c.insert, 1, static_cast<int64_t>(m.msg_id));
      sqlite3_bind_text(c.insert, 2, m.body.data(), static_cast<int>(m.body.size()), SQLITE_STATIC);
      sqlite3_bind_int64(c.insert, 3, static_cast<int64_t>(m.conv));
      sqlite3_bind_int64(c.insert, 4, static_cast<int64_t>(m.sender));
      sqlite3_bind_int64(c.insert, 5, static_cast<int64_t>(m.seq));
      sqlite3_bind_int64(c.insert, 6, m.ms);
      PARLEY_RETURN_IF_ERROR(c.StepDone(c.insert, "insert"));
      ++docs;
    }
    PARLEY_RETURN_IF_ERROR(c.SetMeta("docs", docs));
    return c.SetMeta("checkpoint", static_cast<int64_t>(batch.checkpoint));
  };
  Status st = body();
  if (!st.ok()) {
    c.Exec("ROLLBACK").IgnoreError();
    return st;
  }
  if (Status committed = c.Exec("COMMIT"); !committed.ok()) {
    // SQLite rolls back by itself after some errors (a full disk) but not all: a
    // transaction left open would make every later BEGIN fail.
    if (!sqlite3_get_autocommit(c.db)) c.Exec("ROLLBACK").IgnoreError();
    return committed;
  }
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  checkpoint_ = batch.checkpoint;
  return Status::Ok();
}

uint64_t SearchIndex::checkpoint() const {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  return checkpoint_;
}

std::unique_ptr<SearchIndex::Conn> SearchIndex::Borrow() {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
  }
  auto conn = Connect();
  return conn.ok() ? std::move(*conn) : nullptr;
}

void SearchIndex::Return(std::unique_ptr<Conn> conn) {
  std::lock_guard<std::mutex> lock(readers_mu_);
  idle_readers_.push_back(std::move(conn));
}

Result<uint64_t> SearchIndex::docs() {
  auto conn = Borrow();
  if (!conn) return Status(Code::kIOError, "search index: cannot open a read connection");
  auto docs = conn->Meta("docs");
  Return(std::move(conn));
  if (!docs.ok()) return docs.status();
  return static_cast<uint64_t>(*docs);
}

// How a query runs. FTS5 finds the body matches newest first (rowid = msg_id grows with
// time); the scope — the asker's conversations — is checked per candidate by
// parley_in_scope() against an in-memory set. Putting 200 conversation ids into the match
// as an OR instead costs a merge of all their postings on every query (measured: p50
// 13 ms at 200k messages), while frequent words meet the scope within a few hundred
// candidates. Small scopes (a `conv` filter) do go into the match, where they are cheap.
// At most kMaxScan candidates are examined per page: a page can then come back short,
// with a cursor to continue, so no query is unbounded.
Result<SearchPage> SearchIndex::Search(const SearchQuery& q) {
  SearchPage page;
  PARLEY_ASSIGN_OR_RETURN(std::string match, BodyExpression(q.text));
  // The cursor is where the previous page stopped: "n<rowid>" newest-first (the next page
  // has smaller rowids, so new messages never shift it), "r<offset>" by relevance.
  int64_t position = q.order == SearchOrder::kNewest ? INT64_MAX : 0;
  if (!q.cursor.empty()) {
    const char want = q.order == SearchOrder::kNewest ? 'n' : 'r';
    const char* end = q.cursor.data() + q.cursor.size();
    auto [ptr, ec] = std::from_chars(q.cursor.data() + 1, end, position);
    if (q.cursor[0] != want || ec != std::errc() || ptr != end || position < 0) {
      return Status(Code::kInvalidArgument, "bad cursor (from another query or order?)");
    }
  }
  if (q.scope.empty() || q.limit == 0) return page;
  if (q.scope.size() <= kScopeInMatch) match += " AND " + IdsExpression("conv", q.scope);
  if (q.sender) {
    const uint64_t sender[] = {*q.sender};
    match += " AND " + IdsExpression("sender", sender);
  }
  ScopeFilter filter;
  filter.convs.insert(q.scope.begin(), q.scope.end());
  filter.max_scan = kMaxScan;

  auto conn = Borrow();
  if (!conn) return Status(Code::kIOError, "search index: cannot open a read connection");
  auto bind_common = [&](sqlite3_stmt* s) {
    sqlite3_bind_text(s, 1, match.data(), static_cast<int>(match.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, q.since_ms);
    sqlite3_bind_int64(s, 4, q.until_ms > 0 ? q.until_ms : INT64_MAX);
    BindScopeFilter(s, 5, &filter);
  };
  // Steps `s`; each row goes to `row`. A scan cut short by kMaxScan is not an error.
  auto run = [&](sqlite3_stmt* s, const std::function<void(sqlite3_stmt*)>& row) -> Status {
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) row(s);
    Status st = rc == SQLITE_DONE || filter.cut ? Status::Ok() : SqlError(conn->db, "search");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return st;
  };
  auto add_hit = [&](sqlite3_stmt* s) {
    SearchHit hit;
    hit.msg_id = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
    hit.conv = static_cast<ConvId>(sqlite3_column_int64(s, 1));
    hit.seq = static_cast<Seq>(sqlite3_column_int64(s, 2));
    hit.sender = static_cast<UserId>(sqlite3_column_int64(s, 3));
    hit.ms = sqlite3_column_int64(s, 4);
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, 5));
    ParseSnippet(text ? std::string_view(text, sqlite3_column_bytes(s, 5)) : "", &hit);
    hit.score = sqlite3_column_double(s, 6);
    page.hits.push_back(std::move(hit));
  };
  const auto limit_plus_one = static_cast<int64_t>(q.limit + 1);  // is there a next page?
  Status st;
  if (q.order == SearchOrder::kNewest) {
    bind_common(conn->newest);
    sqlite3_bind_int64(conn->newest, 2, position);
    sqlite3_bind_int64(conn->newest, 6, limit_plus_one);
    st = run(conn->newest, add_hit);
    if (page.hits.size() > q.limit) {
      page.hits.pop_back();
      page.next_cursor = "n" + std::to_string(page.hits.back().msg_id);
    } else if (filter.cut) {
      page.next_cursor = "n" + std::to_string(filter.last_rowid);
    }
  } else {
    // Relevance (bm25) among the kRelevanceWindow most recent matches in scope: in chat,
    // an old message that matches well rarely beats a recent one, and ranking every match
    // of a frequent word would cost tens of milliseconds (FTS5 ORDER BY rank, measured).
    bind_common(conn->ranked);
    sqlite3_bind_int64(conn->ranked, 2, INT64_MAX);
    sqlite3_bind_int64(conn->ranked, 6, static_cast<int64_t>(kRelevanceWindow));
    st = run(conn->ranked, add_hit);
    std::stable_sort(page.hits.begin(), page.hits.end(),
                     [](const SearchHit& a, const SearchHit& b) { return a.score < b.score; });
    const auto from = std::min(page.hits.size(), static_cast<size_t>(position));
    const size_t to = std::min(page.hits.size(), from + q.limit);
    if (to < page.hits.size()) page.next_cursor = "r" + std::to_string(to);
    page.hits = std::vector<SearchHit>(std::make_move_iterator(page.hits.begin() + from),
                                       std::make_move_iterator(page.hits.begin() + to));
  }
  Return(std::move(conn));
  if (!st.ok()) return st;
  return page;
}

}  // namespace parley::search
