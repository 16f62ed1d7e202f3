// From what a user types to an FTS5 match expression.
//
// The user's text is never passed to FTS5 as syntax: each whitespace-separated word and
// each "quoted phrase" becomes one FTS5 string (so `AND`, `*`, `NEAR`, `:` and quotes
// typed by a user are just words), and all of them must match. A word whose characters
// are all separators (emoji, punctuation) is dropped. A run of Chinese characters is one
// word and matches as a substring (its bigrams must be adjacent).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace parley::search {

inline constexpr size_t kMaxQueryBytes = 512;
inline constexpr size_t kMaxQueryTerms = 16;

// The expression for the `body` column, e.g. `body : ("备份恢复" AND "deploy")`.
// invalid_argument if the text is too long, has too many terms or nothing searchable.
Result<std::string> BodyExpression(std::string_view user_text);

// `column : (1 OR 2 OR 3)` for numeric id columns (conv, sender).
std::string IdsExpression(std::string_view column, std::span<const uint64_t> ids);

}  // namespace parley::search
