#include "prom_text.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace parley::bench {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
void SkipSpaces(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

// A Prometheus float: Go's ParseFloat spellings plus +Inf/-Inf/NaN.
bool ParseValue(std::string_view token, double* out) {
  if (token == "+Inf" || token == "Inf")
    return *out = std::numeric_limits<double>::infinity(), true;
  if (token == "-Inf") return *out = -std::numeric_limits<double>::infinity(), true;
  if (token == "NaN") return *out = std::numeric_limits<double>::quiet_NaN(), true;
  std::string copy(token);
  char* end = nullptr;
  *out = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size();
}

// `{a="x",b="y"}` starting at s[i] == '{'; escapes \\ \" \n in values.
bool ParseLabels(std::string_view s, size_t& i, PromSample* sample) {
  ++i;  // '{'
  for (;;) {
    SkipSpaces(s, i);
    if (i < s.size() && s[i] == '}') return ++i, true;
    size_t start = i;
    if (i >= s.size() || !IsNameStart(s[i])) return false;
    while (i < s.size() && IsNameChar(s[i])) ++i;
    std::string name(s.substr(start, i - start));
    SkipSpaces(s, i);
    if (i >= s.size() || s[i] != '=') return false;
    ++i;
    SkipSpaces(s, i);
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    std::string value;
    for (;; ++i) {
      if (i >= s.size()) return false;
      if (s[i] == '"') break;
      if (s[i] == '\\') {
        if (++i >= s.size()) return false;
        value += s[i] == 'n' ? '\n' : s[i];
      } else {
        value += s[i];
      }
    }
    ++i;  // closing quote
    sample->labels.emplace_back(std::move(name), std::move(value));
    SkipSpaces(s, i);
    if (i < s.size() && s[i] == ',')
      ++i;
    else if (i >= s.size() || s[i] != '}')
      return false;
  }
}

Result<PromSample> ParseLine(std::string_view line) {
  PromSample sample;
  size_t i = 0;
  SkipSpaces(line, i);
  size_t start = i;
  if (i >= line.size() || !IsNameStart(line[i])) return InvalidArgument("no metric name");
  while (i < line.size() && IsNameChar(line[i])) ++i;
  sample.name = std::string(line.substr(start, i - start));
  SkipSpaces(line, i);
  if (i < line.size() && line[i] == '{' && !ParseLabels(line, i, &sample)) {
    return InvalidArgument("malformed labels");
  }
  SkipSpaces(line, i);
  start = i;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  if (!ParseValue(line.substr(start, i - start), &sample.value)) {
    return InvalidArgument("malformed value");
  }
  SkipSpaces(line, i);  // an optional timestamp may follow; it is not needed here
  std::sort(sample.labels.begin(), sample.labels.end());
  return sample;
}

}  // namespace

std::string PromSample::Label(std::string_view label) const {
  for (const auto& [k, v] : labels) {
    if (k == label) return v;
  }
  return "";
}

Result<std::vector<PromSample>> ParsePromText(std::string_view text) {
  std::vector<PromSample> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto sample = ParseLine(line);
    if (!sample.ok()) {
      return InvalidArgument("metrics line " + std::to_string(line_no) + ": " +
                             sample.status().message() + ": " + std::string(line));
    }
    out.push_back(std::move(*sample));
  }
  return out;
}

double SumOf(const std::vector<PromSample>& samples, std::string_view name, bool* found) {
  double sum = 0;
  bool any = false;
  for (const auto& s : samples) {
    if (s.name == name) sum += s.value, any = true;
  }
  if (found) *found = any;
  return sum;
}

std::map<std::string, PromHistogram> HistogramsBy(const std::vector<PromSample>& samples,
                                                  std::string_view family,
                                                  std::string_view by_label) {
  const std::string bucket = std::string(family) + "_bucket";
  const std::string count = std::string(family) + "_count";
  const std::string sum = std::string(family) + "_sum";
  // Per key, per bound: summed over any other labels.
  std::map<std::string, std::map<double, double>> buckets;
  std::map<std::string, PromHistogram> out;
  for (const auto& s : samples) {
    if (s.name == bucket) {
      double le;
      if (!ParseValue(s.Label("le"), &le)) continue;
      buckets[s.Label(by_label)][le] += s.value;
    } else if (s.name == count) {
      out[s.Label(by_label)].count += s.value;
    } else if (s.name == sum) {
      out[s.Label(by_label)].sum += s.value;
    }
  }
  for (auto& [key, by_bound] : buckets) {
    PromHistogram& h = out[key];
    h.buckets.assign(by_bound.begin(), by_bound.end());
    // The +Inf bucket is the count by definition (and is there when _count is not).
    if (std::isinf(h.buckets.back().first)) h.count = h.buckets.back().second;
  }
  return out;
}

PromHistogram Delta(const PromHistogram& after, const PromHistogram& before) {
  PromHistogram d;
  d.count = after.count - before.count;
  d.sum = after.sum - before.sum;
  for (const auto& [le, n] : after.buckets) {
    double was = 0;
    for (const auto& [ble, bn] : before.buckets) {
      if (ble == le) was = bn;
    }
    d.buckets.emplace_back(le, n - was);
  }
  return d;
}

double HistogramQuantile(double q, const PromHistogram& h) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (h.buckets.empty() || !std::isinf(h.buckets.back().first)) return nan;
  const double total = h.buckets.back().second;
  if (total <= 0) return nan;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  const double rank = q * total;
  size_t b = 0;
  while (b + 1 < h.buckets.size() && h.buckets[b].second < rank) ++b;
  if (b + 1 == h.buckets.size()) {
    // The +Inf bucket: the largest finite bound is the best that can be said.
    return b > 0 ? h.buckets[b - 1].first : nan;
  }
  const double upper = h.buckets[b].first;
  const double lower = b > 0 ? h.buckets[b - 1].first : std::min(0.0, upper);
  const double below = b > 0 ? h.buckets[b - 1].second : 0;
  const double in_bucket = h.buckets[b].second - below;
  if (in_bucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / in_bucket);
}

}  // namespace parley::bench
