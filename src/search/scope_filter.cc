#include "search/scope_filter.h"

#include <string>

namespace parley::search {
namespace {

constexpr char kPointerType[] = "parley_scope_filter";

void InScope(sqlite3_context* ctx, int, sqlite3_value** args) {
  auto* f = static_cast<ScopeFilter*>(sqlite3_value_pointer(args[2], kPointerType));
  if (f == nullptr) return sqlite3_result_error(ctx, "parley_in_scope: no scope bound", -1);
  if (f->scanned >= f->max_scan) {
    f->cut = true;
    return sqlite3_result_error(ctx, "parley_in_scope: scan limit", -1);
  }
  ++f->scanned;
  f->last_rowid = sqlite3_value_int64(args[1]);
  const auto conv = static_cast<ConvId>(sqlite3_value_int64(args[0]));
  sqlite3_result_int(ctx, f->convs.count(conv) > 0 ? 1 : 0);
}

}  // namespace

Status RegisterScopeFunction(sqlite3* db) {
  if (sqlite3_create_function_v2(db, "parley_in_scope", 3, SQLITE_UTF8 | SQLITE_DIRECTONLY, nullptr,
                                 &InScope, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Status(Code::kInternal, std::string("register parley_in_scope: ") + sqlite3_errmsg(db));
  }
  return Status::Ok();
}

void BindScopeFilter(sqlite3_stmt* stmt, int index, ScopeFilter* filter) {
  sqlite3_bind_pointer(stmt, index, filter, kPointerType, nullptr);
}

}  // namespace parley::search
