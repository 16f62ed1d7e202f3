// Text validation shared by every entry point: UTF-8 well-formedness and identifier rules.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace parley {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// User names: 3-32 characters from [a-z0-9_.-], starting with a letter. Returns the
// normalised (lower-cased) name, or an empty string if `name` breaks the rules.
std::string NormalizeUserName(std::string_view name);

// Opaque client identifiers (device ids, client_msg_ids): 1-`max_len` printable ASCII
// characters, no spaces.
bool IsValidClientId(std::string_view id, size_t max_len);

}  // namespace parley
