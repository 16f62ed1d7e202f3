// The headers of the attachment API, read and written without state: the bearer token,
// byte ranges, and the headers that keep a user's file from ever running as a page of the
// server. Bytes from outside: fuzzed by fuzz/files_http_fuzz.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::files {

// The token of "Authorization: Bearer TOKEN", or empty.
std::string BearerToken(std::string_view authorization);

// One range of a Range header for an object of `size` bytes. nullopt: no (usable) Range
// header — serve the whole object, as RFC 9110 allows for a syntax it does not take.
// `unsatisfiable` set: it starts past the end (416).
struct ByteSpan {
  uint64_t offset = 0;
  uint64_t length = 0;
};
std::optional<ByteSpan> ParseRange(std::string_view header, uint64_t size, bool* unsatisfiable);

// Content-Type for a declared type: the type itself only for raster images, audio,
// video and PDF; application/octet-stream for anything else (HTML, SVG, scripts).
std::string SafeContentType(std::string_view declared);
// True for the types shown inline (raster images); everything else is an attachment.
bool ShownInline(std::string_view content_type);
// Content-Disposition with an ASCII fallback name and the UTF-8 name (RFC 6266/8187).
std::string ContentDisposition(bool inline_view, std::string_view file_name);

}  // namespace parley::files
