#include "files/http_headers.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "common/ascii.h"

namespace parley::files {
namespace {

bool ParseUint(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      AsciiLower(authorization.substr(0, kBearer.size())) != "bearer ") {
    return {};
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return std::string(token);
}

std::optional<ByteSpan> ParseRange(std::string_view header, uint64_t size, bool* unsatisfiable) {
  *unsatisfiable = false;
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return std::nullopt;
  std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return std::nullopt;  // one range only
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view first = spec.substr(0, dash), last = spec.substr(dash + 1);
  uint64_t a = 0, b = 0;
  if (first.empty()) {  // the last N bytes
    if (!ParseUint(last, &b) || b == 0) return std::nullopt;
    if (size == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    const uint64_t n = std::min(b, size);
    return ByteSpan{size - n, n};
  }
  if (!ParseUint(first, &a)) return std::nullopt;
  if (!last.empty() && (!ParseUint(last, &b) || b < a)) return std::nullopt;
  if (a >= size) {
    *unsatisfiable = true;
    return std::nullopt;
  }
  const uint64_t end = last.empty() ? size - 1 : std::min(b, size - 1);
  return ByteSpan{a, end - a + 1};
}

std::string SafeContentType(std::string_view declared) {
  const std::string type = AsciiLower(declared.substr(0, declared.find(';')));
  static constexpr std::array<std::string_view, 6> kImages = {
      "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp"};
  for (std::string_view t : kImages) {
    if (type == t) return type;
  }
  // Audio and video subtypes of letters, digits and "-._" only: the type goes out as a
  // header of another user's download, so nothing that could end or extend it (a CR or LF,
  // found by fuzz/files_http_fuzz.cc) and no structured suffix ("+xml") passes.
  const bool media =
      (type.starts_with("audio/") || type.starts_with("video/")) && type.size() > 6 &&
      std::all_of(type.begin() + 6, type.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
      });
  if (media || type == "application/pdf") return type;
  return "application/octet-stream";
}

bool ShownInline(std::string_view content_type) { return content_type.starts_with("image/"); }

std::string ContentDisposition(bool inline_view, std::string_view file_name) {
  std::string ascii, encoded;
  for (unsigned char c : file_name) {
    const bool plain = std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ' ';
    ascii += (plain && c < 0x80) ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      encoded += buf;
    }
  }
  if (ascii.empty()) ascii = "file";
  return std::string(inline_view ? "inline" : "attachment") + "; filename=\"" + ascii +
         "\"; filename*=UTF-8''" + encoded;
}

}  // namespace parley::files
