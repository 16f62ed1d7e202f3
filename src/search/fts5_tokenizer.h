// Registers our tokenizer (search/tokenizer.h) with SQLite FTS5 as "parley", so a table
// can say `tokenize = 'porter parley'` (porter stems the English words it produces).
#pragma once

#include <sqlite3.h>

#include "common/status.h"

namespace parley::search {

// Once per connection, before creating or using a table that names the tokenizer.
Status RegisterTokenizer(sqlite3* db);

}  // namespace parley::search
