#include "common/text.h"

#include <simdjson.h>

#include <cstdint>

namespace parley {

// simdjson's validator (SIMD, picked for the CPU at run time) follows the Unicode
// standard's definition: no overlongs, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

std::string NormalizeUserName(std::string_view name) {
  if (name.size() < 3 || name.size() > 32) return {};
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return {};
    out.push_back(c);
  }
  if (out[0] < 'a' || out[0] > 'z') return {};
  return out;
}

bool IsValidClientId(std::string_view id, size_t max_len) {
  if (id.empty() || id.size() > max_len) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace parley
