// Reading parleyd's /metrics page (Prometheus text) in tests.
#pragma once

#include <optional>
#include <string>

namespace parley::test {

// The value of `series` in a /metrics page: the line "SERIES VALUE", where SERIES may carry
// its labels (`parley_errors_total{code="unavailable"}`); a name without labels also
// matches the first labelled sample of its family. nullopt if absent.
std::optional<double> MetricValue(const std::string& page, const std::string& series);

}  // namespace parley::test
