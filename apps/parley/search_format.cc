#include "search_format.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "format.h"
#include "protocol/encode.h"

namespace parley::cli {

Result<int64_t> ParseWhen(std::string_view text, int64_t now_ms) {
  auto bad = [&] {
    return Status(Code::kInvalidArgument,
                  "'" + std::string(text) + "' is not YYYY-MM-DD[THH:MM[:SS]], Nd, Nh or Nm");
  };
  if (text.empty()) return bad();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && n >= 0) {
    const size_t used = static_cast<size_t>(end - text.data());
    if (used == text.size()) return n;  // milliseconds since 1970
    if (used + 1 == text.size() && n <= 100000) {
      switch (text.back()) {
        case 'd':
          return now_ms - n * 86'400'000;
        case 'h':
          return now_ms - n * 3'600'000;
        case 'm':
          return now_ms - n * 60'000;
      }
    }
  }
  std::string s(text);
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  struct tm tm = {};
  tm.tm_isdst = -1;
  const char* rest = nullptr;
  for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    tm = {};
    tm.tm_isdst = -1;
    rest = strptime(s.c_str(), format, &tm);
    if (rest != nullptr && *rest == '\0') break;
    rest = nullptr;
  }
  if (rest == nullptr) return bad();
  const time_t t = mktime(&tm);
  if (t == static_cast<time_t>(-1)) return bad();
  return static_cast<int64_t>(t) * 1000;
}

std::string MarkHighlights(const SearchHit& hit, bool terminal) {
  const std::string_view open = terminal ? "\x1b[1m" : "«";
  const std::string_view close = terminal ? "\x1b[0m" : "»";
  const std::string& s = hit.snippet;
  // Byte offset of each code point (and of the end).
  std::vector<size_t> at;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) at.push_back(i);
  }
  at.push_back(s.size());
  auto byte_of = [&](uint64_t cp) { return at[std::min<uint64_t>(cp, at.size() - 1)]; };
  std::string out;
  size_t done = 0;
  for (const auto& [start, length] : hit.highlights) {
    const size_t b = byte_of(start), e = byte_of(uint64_t{start} + length);
    if (b < done || e <= b) continue;  // out of order or empty: ignore
    out += SafeText(std::string_view(s).substr(done, b - done));
    out += open;
    out += SafeText(std::string_view(s).substr(b, e - b));
    out += close;
    done = e;
  }
  out += SafeText(std::string_view(s).substr(done));
  return out;
}

std::string SearchHitJson(const SearchHit& h) {
  JsonWriter w;
  WriteSearchHit(w, h);
  return w.Take();
}

}  // namespace parley::cli
