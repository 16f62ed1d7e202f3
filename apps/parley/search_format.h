// Output helpers of `parley search`, apart from the command so they can be unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/decode.h"

namespace parley::cli {

// "2026-11-20", "2026-11-20T14:30", "2026-11-20 14:30:05" (local time), "3d", "12h",
// "30m" (that long before now_ms), or a number of milliseconds since 1970.
Result<int64_t> ParseWhen(std::string_view text, int64_t now_ms);

// The snippet with its matches marked: bold on a terminal, «…» otherwise. Control
// characters are made visible as in every other output.
std::string MarkHighlights(const SearchHit& hit, bool terminal);

std::string SearchHitJson(const SearchHit& hit);

}  // namespace parley::cli
