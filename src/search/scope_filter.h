// parley_in_scope(conv, rowid, filter): an SQL function that keeps search candidates whose
// conversation is in the asker's scope. The set arrives as a bound pointer (never as SQL
// text), and the function counts what it examines: past `max_scan` candidates it stops
// the statement (an error the caller recognises by `cut`), so one query's work is bounded.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <unordered_set>

#include "common/status.h"
#include "model/records.h"

namespace parley::search {

struct ScopeFilter {
  std::unordered_set<ConvId> convs;
  size_t max_scan = 0;
  size_t scanned = 0;
  bool cut = false;        // stopped at max_scan
  int64_t last_rowid = 0;  // the last candidate examined
};

Status RegisterScopeFunction(sqlite3* db);
void BindScopeFilter(sqlite3_stmt* stmt, int index, ScopeFilter* filter);

}  // namespace parley::search
