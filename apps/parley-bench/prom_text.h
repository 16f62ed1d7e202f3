// Reading a server's Prometheus text exposition (format 0.0.4) in the benchmark: parse a
// scrape into samples, pick out counters and histogram series, subtract a scrape taken
// before a measured window from one taken after it, and estimate quantiles from the
// buckets the way Prometheus' histogram_quantile() does (linear interpolation within the
// bucket that holds the rank). Written against the format, not against parleyd's own
// renderer: label order, spacing, escapes, timestamps and comments may vary, so the bench
// also reads servers of other builds.
//
// Thread-safety: pure functions and values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace parley::bench {

// One sample line: `name{label="value",…} value [timestamp]`. Labels sorted by name.
struct PromSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;

  // The value of `label`, or "" when the sample has no such label.
  std::string Label(std::string_view label) const;
};

// Every sample of `text`; comment (# HELP, # TYPE, …) and blank lines are skipped.
// kInvalidArgument naming the line for a line that is not a sample.
Result<std::vector<PromSample>> ParsePromText(std::string_view text);

// The sum of every sample named `name` (all its label sets); 0 when there is none.
// `*found` (if given) says whether there was one.
double SumOf(const std::vector<PromSample>& samples, std::string_view name, bool* found = nullptr);

// One histogram series: cumulative bucket counts by upper bound (`le`, +Inf last), its
// _count and _sum.
struct PromHistogram {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count), le ascending
  double count = 0;
  double sum = 0;
};

// The series of histogram family `family` (samples family_bucket/_count/_sum), keyed by
// the value of `by_label` (e.g. "stage"); other labels are summed over. Empty when the
// family is absent.
std::map<std::string, PromHistogram> HistogramsBy(const std::vector<PromSample>& samples,
                                                  std::string_view family,
                                                  std::string_view by_label);

// after - before, bucket by bucket (a bucket missing in `before` counts as 0: the series
// appeared during the window).
PromHistogram Delta(const PromHistogram& after, const PromHistogram& before);

// The q-quantile (0 <= q <= 1) as histogram_quantile() computes it: find the bucket whose
// cumulative count reaches q * count and interpolate linearly between its lower and upper
// bound (the first bucket's lower bound is 0); a rank in the +Inf bucket returns the
// largest finite bound. NaN when the histogram is empty.
double HistogramQuantile(double q, const PromHistogram& h);

}  // namespace parley::bench
