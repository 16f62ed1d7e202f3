#include "tests/support/metrics_text.h"

#include <cstdlib>
#include <sstream>

namespace parley::test {

std::optional<double> MetricValue(const std::string& page, const std::string& series) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series, 0) != 0 || line.size() <= series.size()) continue;
    const char next = line[series.size()];
    if (next != ' ' && next != '{') continue;
    return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return std::nullopt;
}

}  // namespace parley::test
