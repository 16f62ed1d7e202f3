// Text analysis for search: splits UTF-8 text into index terms, the same way for
// messages and for queries.
//
// - Latin, Greek and Cyrillic letters and digits form words, lower-cased; fullwidth ASCII
//   counts as ASCII. (English stemming is applied after this, by SQLite FTS5's `porter`
//   wrapper around this tokenizer.)
// - Chinese, Japanese and Korean have no spaces between words, and dictionary
//   segmentation misses names and new words. A run of CJK characters becomes its
//   overlapping bigrams (备份恢复 -> 备份 份恢 恢复) at consecutive positions, so any
//   substring of two or more characters is found as a phrase of bigrams. A run of one
//   character is indexed as itself.
// - Everything else (spaces, punctuation, emoji, symbols, '@', '#') separates terms.
//
// Thread-safety: stateless.
#pragma once

#include <cstddef>
#include <string_view>

namespace parley::search {

// Called once per term, in order. `term` is valid only during the call. `begin`/`end`
// are byte offsets of the term's source text in the input. Return false to stop.
using TermSink = bool (*)(void* ctx, std::string_view term, size_t begin, size_t end);

// Terms longer than this (in bytes) are cut (a pasted hash or URL is not worth more).
inline constexpr size_t kMaxTermBytes = 64;

// Returns false if the sink stopped early.
bool Tokenize(std::string_view text, TermSink sink, void* ctx);

}  // namespace parley::search
