// Tests for the bench's reading of /metrics: a real-looking scrape (labels in any order,
// escapes, comments, timestamps, +Inf), histogram series by label, deltas between two
// scrapes, and quantiles interpolated as Prometheus' histogram_quantile() does.
#include "prom_text.h"

#include <gtest/gtest.h>

#include <cmath>

namespace parley::bench {
namespace {

// As parleyd renders it, plus what other exporters do: labels out of order, spaces,
// escaped quotes, a timestamp, CRLF, an extra label to be summed over.
const char kScrape[] =
    "# HELP parley_frames_in_total WebSocket frames received.\n"
    "# TYPE parley_frames_in_total counter\n"
    "parley_frames_in_total 1027\n"
    "parley_frames_out_total 2048 1700000000000\n"
    "# HELP parley_errors_total Error replies by code.\n"
    "parley_errors_total{code=\"rate_limited\"} 3\n"
    "parley_errors_total{code=\"not_member\"} 4\r\n"
    "parley_odd{path=\"a \\\"quoted\\\" \\\\ back\\nslash\",x=\"1\"} -2.5e-3\n"
    "\n"
    "# TYPE parley_stage_seconds histogram\n"
    "parley_stage_seconds_bucket{stage=\"fsync\",le=\"0.001\"} 10\n"
    "parley_stage_seconds_bucket{le=\"0.0025\",stage=\"fsync\"} 90\n"
    "parley_stage_seconds_bucket{stage=\"fsync\",le=\"0.005\"} 99\n"
    "parley_stage_seconds_bucket{ stage = \"fsync\" , le = \"+Inf\" , } 100\n"
    "parley_stage_seconds_sum{stage=\"fsync\"} 0.2\n"
    "parley_stage_seconds_count{stage=\"fsync\"} 100\n"
    "parley_stage_seconds_bucket{stage=\"hub\",le=\"0.001\"} 5\n"
    "parley_stage_seconds_bucket{stage=\"hub\",le=\"+Inf\"} 5\n"
    "parley_stage_seconds_sum{stage=\"hub\"} 0.001\n"
    "parley_stage_seconds_count{stage=\"hub\"} 5\n";

TEST(PromText, ParsesSamplesWithLabelsInAnyOrder) {
  auto samples = ParsePromText(kScrape);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 15u);
  EXPECT_EQ((*samples)[0].name, "parley_frames_in_total");
  EXPECT_EQ((*samples)[0].value, 1027);
  EXPECT_EQ((*samples)[1].value, 2048);  // the timestamp is not the value
  EXPECT_EQ(SumOf(*samples, "parley_errors_total"), 7);
  bool found = true;
  EXPECT_EQ(SumOf(*samples, "parley_absent_total", &found), 0);
  EXPECT_FALSE(found);
  const PromSample& odd = (*samples)[4];
  EXPECT_EQ(odd.Label("path"), "a \"quoted\" \\ back\nslash");
  EXPECT_EQ(odd.Label("x"), "1");
  EXPECT_DOUBLE_EQ(odd.value, -0.0025);
  EXPECT_EQ((*samples)[8].value, 100);
  EXPECT_EQ((*samples)[8].Label("le"), "+Inf");
  EXPECT_EQ((*samples)[8].Label("stage"), "fsync");
}

TEST(PromText, RefusesMalformedLines) {
  EXPECT_FALSE(ParsePromText("metric{a=\"x} 1\n").ok());
  EXPECT_FALSE(ParsePromText("metric{a=x} 1\n").ok());
  EXPECT_FALSE(ParsePromText("metric one\n").ok());
  EXPECT_FALSE(ParsePromText("9metric 1\n").ok());
  EXPECT_TRUE(ParsePromText("# only a comment\n\n").ok());
}

TEST(PromText, HistogramsByLabelAndTheirDelta) {
  auto samples = ParsePromText(kScrape);
  ASSERT_TRUE(samples.ok());
  auto stages = HistogramsBy(*samples, "parley_stage_seconds", "stage");
  ASSERT_EQ(stages.size(), 2u);
  const PromHistogram& fsync = stages["fsync"];
  ASSERT_EQ(fsync.buckets.size(), 4u);
  EXPECT_EQ(fsync.buckets[1].first, 0.0025);  // sorted by bound, not by text
  EXPECT_TRUE(std::isinf(fsync.buckets.back().first));
  EXPECT_EQ(fsync.count, 100);
  EXPECT_DOUBLE_EQ(fsync.sum, 0.2);
  EXPECT_EQ(stages["hub"].count, 5);
  EXPECT_TRUE(HistogramsBy(*samples, "parley_absent_seconds", "stage").empty());
  // Without _count lines the +Inf bucket counts.
  auto no_count = ParsePromText("h_bucket{le=\"1\",k=\"a\"} 2\nh_bucket{le=\"+Inf\",k=\"a\"} 3\n");
  ASSERT_TRUE(no_count.ok());
  EXPECT_EQ(HistogramsBy(*no_count, "h", "k")["a"].count, 3);

  PromHistogram before;
  before.buckets = {{0.001, 4}, {0.0025, 40}, {0.005, 40}};  // +Inf bucket unknown before
  before.count = 40;
  PromHistogram d = Delta(fsync, before);
  EXPECT_EQ(d.count, 60);
  ASSERT_EQ(d.buckets.size(), 4u);
  EXPECT_EQ(d.buckets[0].second, 6);
  EXPECT_EQ(d.buckets[1].second, 50);
  EXPECT_EQ(d.buckets[3].second, 100);
}

TEST(PromText, QuantilesInterpolateWithinTheBucket) {
  PromHistogram h;
  // 10 in (0, 1ms], 80 in (1ms, 2.5ms], 9 in (2.5ms, 5ms], 1 above 5ms.
  h.buckets = {{0.001, 10}, {0.0025, 90}, {0.005, 99}, {INFINITY, 100}};
  h.count = 100;
  // rank 50: 40 of the 80 in the second bucket, half-way from 1 to 2.5 ms.
  EXPECT_NEAR(HistogramQuantile(0.5, h), 0.00175, 1e-12);
  // rank 5 in the first bucket: from 0.
  EXPECT_NEAR(HistogramQuantile(0.05, h), 0.0005, 1e-12);
  // rank 99 is the third bucket's upper edge.
  EXPECT_NEAR(HistogramQuantile(0.99, h), 0.005, 1e-12);
  // rank 99.9 lies in +Inf: the largest finite bound.
  EXPECT_EQ(HistogramQuantile(0.999, h), 0.005);
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, PromHistogram{})));
  PromHistogram empty;
  empty.buckets = {{0.001, 0}, {INFINITY, 0}};
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, empty)));
}

}  // namespace
}  // namespace parley::bench
