// A line of an export file (src/backup/export_format.cc), which `parley admin import`
// reads from wherever an operator got it: each line is parsed alone, and a line that
// parses encodes back to a line that parses to the same thing.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "backup/export_format.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  size_t line = 0;
  while (!rest.empty() && line < 64) {
    const size_t end = rest.find('\n');
    const std::string text(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    ++line;
    if (parley::backup::IsBlankLine(text)) continue;
    auto parsed = parley::backup::ParseLine(text, line);
    if (!parsed.ok()) continue;
    auto encoded = std::visit([](const auto& v) { return parley::backup::EncodeLine(v); }, *parsed);
    if (!encoded.ok()) continue;  // e.g. a name the encoder refuses to write
    auto again = parley::backup::ParseLine(*encoded, line);
    FUZZ_CHECK(again.ok());
    auto encoded_again =
        std::visit([](const auto& v) { return parley::backup::EncodeLine(v); }, *again);
    FUZZ_CHECK(encoded_again.ok() && *encoded_again == *encoded);
  }
  return 0;
}
