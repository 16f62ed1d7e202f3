// Checked integers out of nlohmann::json. `get<uint64_t>()` converts whatever number it
// holds without a check: a float such as 1e300 is undefined behaviour, -1 becomes 2^64 - 1,
// 1.5 becomes 1 (found by fuzz/manifest_fuzz.cc). JsonInteger<T> takes integers in T's range
// only and throws otherwise, like `at()` does for a missing key, so callers that catch
// nlohmann's exceptions (json::exception) or std::exception refuse such a value.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <utility>

namespace parley {

template <typename T, typename Json>
T JsonInteger(const Json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  if (v.is_number_unsigned()) {
    const auto u = v.template get<uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto i = v.template get<int64_t>();
    if (std::in_range<T>(i)) return static_cast<T>(i);
  }
  throw nlohmann::json::out_of_range::create(406, "not an integer in range", &v);
}

}  // namespace parley
