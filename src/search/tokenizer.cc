#include "search/tokenizer.h"

#include <cstdint>
#include <string>

namespace parley::search {
namespace {

enum class Kind { kSeparator, kWord, kCjk };

// Decodes one code point at text[i]; on a malformed sequence returns U+FFFD and len 1.
char32_t Decode(std::string_view text, size_t i, size_t* len) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return *len = 1, b0;
  int n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (n == 0 || i + n > text.size()) return *len = 1, 0xFFFD;
  char32_t cp = b0 & (0x7F >> n);
  for (int k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return *len = 1, 0xFFFD;
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = static_cast<size_t>(n);
  return cp;
}

void Encode(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsCjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) ||    // CJK unified ideographs
         (c >= 0x3400 && c <= 0x4DBF) ||    // extension A
         (c >= 0x20000 && c <= 0x2EBEF) ||  // extensions B-F
         (c >= 0xF900 && c <= 0xFAFF) ||    // compatibility ideographs
         (c >= 0x3040 && c <= 0x30FF) ||    // hiragana, katakana
         (c >= 0x31F0 && c <= 0x31FF) ||    // katakana extensions
         (c >= 0xFF66 && c <= 0xFF9D) ||    // halfwidth katakana
         (c >= 0xAC00 && c <= 0xD7AF) ||    // hangul syllables
         (c >= 0x1100 && c <= 0x11FF) ||    // hangul jamo
         (c >= 0x3130 && c <= 0x318F);      // hangul compatibility jamo
}

// Folds a word character to lower case (and fullwidth ASCII to ASCII); 0 if `c` is not
// a word character.
char32_t FoldWordChar(char32_t c) {
  if (c < 0x80) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return c;
    return 0;
  }
  if (c >= 0xFF10 && c <= 0xFF19) return c - 0xFF10 + '0';  // fullwidth digits
  if (c >= 0xFF21 && c <= 0xFF3A) return c - 0xFF21 + 'a';  // fullwidth A-Z
  if (c >= 0xFF41 && c <= 0xFF5A) return c - 0xFF41 + 'a';  // fullwidth a-z
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;   // Latin-1 upper
  if (c >= 0xDF && c <= 0xFF && c != 0xF7) return c;        // Latin-1 lower
  if (c >= 0x100 && c <= 0x17F) {                           // Latin Extended-A: upper/lower pairs
    if (c <= 0x137 || (c >= 0x14A && c <= 0x177)) return c | 1;
    if (c == 0x178) return 0xFF;
    return (c & 1) && c != 0x149 && c != 0x17F ? c + 1 : c;
  }
  if (c >= 0x180 && c <= 0x24F) return c;                     // Latin Ext-B (kept as is)
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;  // Greek upper
  if (c >= 0x3AC && c <= 0x3CE) return c;                     // Greek lower
  if (c >= 0x410 && c <= 0x42F) return c + 32;                // Cyrillic upper
  if (c >= 0x400 && c <= 0x40F) return c + 80;                // Cyrillic Ѐ-Џ
  if (c >= 0x430 && c <= 0x45F) return c;                     // Cyrillic lower
  return 0;
}

}  // namespace

bool Tokenize(std::string_view text, TermSink sink, void* ctx) {
  std::string term;
  size_t i = 0;
  // The previous CJK character of the current run (for bigrams).
  size_t cjk_prev_begin = 0;
  bool in_cjk = false, emitted_bigram = false;
  auto flush_single_cjk = [&](size_t run_end) {
    // A run of exactly one CJK character: index the character itself.
    if (in_cjk && !emitted_bigram) {
      return sink(ctx, text.substr(cjk_prev_begin, run_end - cjk_prev_begin), cjk_prev_begin,
                  run_end);
    }
    return true;
  };
  while (i < text.size()) {
    size_t len;
    const char32_t c = Decode(text, i, &len);
    if (IsCjk(c)) {
      if (in_cjk) {
        if (!sink(ctx, text.substr(cjk_prev_begin, i + len - cjk_prev_begin), cjk_prev_begin,
                  i + len)) {
          return false;
        }
        emitted_bigram = true;
      } else {
        in_cjk = true;
        emitted_bigram = false;
      }
      cjk_prev_begin = i;
      i += len;
      continue;
    }
    if (!flush_single_cjk(i)) return false;
    in_cjk = false;
    char32_t folded = FoldWordChar(c);
    if (folded == 0) {
      i += len;
      continue;
    }
    // A word: consecutive word characters.
    const size_t begin = i;
    term.clear();
    while (i < text.size()) {
      const char32_t w = FoldWordChar(Decode(text, i, &len));
      if (w == 0) break;
      if (term.size() + 4 <= kMaxTermBytes) Encode(w, &term);  // whole characters only
      i += len;
    }
    if (!sink(ctx, term, begin, i)) return false;
  }
  return flush_single_cjk(i);
}

}  // namespace parley::search
