// Tests for the metrics registry: exact exposition text, histogram bucket edges, label
// and help escaping, registration rules, and exact totals under concurrent updates.
#include "metrics/metrics.h"
#include "metrics/stages.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

namespace parley::metrics {
namespace {

TEST(Registry, RendersFamiliesInTextFormat) {
  Registry r;
  r.counter("req_total", "Requests.", {{"code", "bad"}}).Inc(3);
  r.gauge("conns", "Connections.").Set(-2);
  r.counter("req_total", "Requests.", {{"code", "ok"}}).Inc();  // joins the first family
  auto& h = r.histogram("lat_seconds", "Latency.", {0.005, 0.5, 1});
  h.Observe(0.5);
  h.Observe(0.75);
  h.Observe(3);
  r.histogram("sized", "Sizes.", {10}, {{"op", "send"}}).Observe(4);
  r.gauge_fn("rss", "Memory.", [] { return 1.5; });
  r.gauge_fn("big", "Big.", [] { return 1e20; });
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP req_total Requests.\n"
            "# TYPE req_total counter\n"
            "req_total{code=\"bad\"} 3\n"
            "req_total{code=\"ok\"} 1\n"
            "# HELP conns Connections.\n"
            "# TYPE conns gauge\n"
            "conns -2\n"
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.005\"} 0\n"
            "lat_seconds_bucket{le=\"0.5\"} 1\n"
            "lat_seconds_bucket{le=\"1\"} 2\n"
            "lat_seconds_bucket{le=\"+Inf\"} 3\n"
            "lat_seconds_sum 4.25\n"
            "lat_seconds_count 3\n"
            "# HELP sized Sizes.\n"
            "# TYPE sized histogram\n"
            "sized_bucket{op=\"send\",le=\"10\"} 1\n"
            "sized_bucket{op=\"send\",le=\"+Inf\"} 1\n"
            "sized_sum{op=\"send\"} 4\n"
            "sized_count{op=\"send\"} 1\n"
            "# HELP rss Memory.\n"
            "# TYPE rss gauge\n"
            "rss 1.5\n"
            "# HELP big Big.\n"
            "# TYPE big gauge\n"
            "big 1e+20\n");
}

TEST(Registry, EscapesLabelValuesAndHelp) {
  Registry r;
  r.counter("c", "Line one\nback\\slash \"quoted\".", {{"v", "a\\b\"c\nd"}}).Inc();
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP c Line one\\nback\\\\slash \"quoted\".\n"
            "# TYPE c counter\n"
            "c{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(Registry, LabelOrderDoesNotMatter) {
  Registry r;
  Counter& a = r.counter("x", "X.", {{"b", "2"}, {"a", "1"}});
  Counter& b = r.counter("x", "X.", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(&a, &b);
  a.Inc();
  EXPECT_EQ(r.RenderPrometheus(), "# HELP x X.\n# TYPE x counter\nx{a=\"1\",b=\"2\"} 1\n");
}

TEST(Registry, ReferencesSurviveLaterRegistrations) {
  Registry r;
  Counter& first = r.counter("first", "F.");
  for (int i = 0; i < 1000; ++i) r.counter("n" + std::to_string(i), "N.");
  first.Inc(7);
  EXPECT_EQ(&first, &r.counter("first", "F."));
  EXPECT_EQ(first.value(), 7u);
}

TEST(Registry, RejectsMisuse) {
  Registry r;
  r.counter("x", "X.");
  EXPECT_THROW(r.gauge("x", "X."), std::logic_error);
  EXPECT_THROW(r.counter("9lives", "N."), std::invalid_argument);
  EXPECT_THROW(r.counter("has-dash", "N."), std::invalid_argument);
  EXPECT_THROW(r.counter("y", "Y.", {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("y", "Y.", {{"__x", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("y", "Y.", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "H.", {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "H.", {2, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "H.", {INFINITY}), std::invalid_argument);
  r.histogram("h", "H.", {1, 2});
  EXPECT_THROW(r.histogram("h", "H.", {1, 3}, {{"a", "b"}}), std::logic_error);
}

TEST(Registry, GaugeFnIsReadAtScrapeTimeAndReplaceable) {
  Registry r;
  double v = 1;
  r.gauge_fn("g", "G.", [&] { return v; });
  v = 2;
  EXPECT_EQ(r.RenderPrometheus(), "# HELP g G.\n# TYPE g gauge\ng 2\n");
  r.gauge_fn("g", "G.", [] { return 0.25; });
  EXPECT_EQ(r.RenderPrometheus(), "# HELP g G.\n# TYPE g gauge\ng 0.25\n");
  r.gauge_fn("g", "G.", [] { return NAN; }, {{"k", "v"}});
  EXPECT_EQ(r.RenderPrometheus(), "# HELP g G.\n# TYPE g gauge\ng 0.25\ng{k=\"v\"} NaN\n");
}

TEST(Histogram, BucketEdgesAreInclusiveUpperBounds) {
  Histogram h({1, 2, 5});
  h.Observe(-3);                        // below every bound: first bucket
  h.Observe(1);                         // exactly on a bound: that bucket
  h.Observe(std::nextafter(1.0, 2.0));  // just above: the next one
  h.Observe(2);
  h.Observe(5);
  h.Observe(5.000001);  // above the last bound: +Inf
  h.Observe(NAN);       // +Inf, never a finite bucket
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 2u);
  EXPECT_EQ(h.bucket(2), 1u);
  EXPECT_EQ(h.bucket(3), 2u);
  EXPECT_EQ(h.cumulative(0), 2u);
  EXPECT_EQ(h.cumulative(1), 4u);
  EXPECT_EQ(h.cumulative(2), 5u);
  EXPECT_EQ(h.cumulative(3), 7u);
  EXPECT_EQ(h.count(), 7u);
}

TEST(Histogram, NoBoundsHasOnlyInf) {
  Registry r;
  r.histogram("h", "H.", {}).Observe(2);
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\n");
}

TEST(Histogram, LargeObservationsDoNotOverflowTheSum) {
  Histogram h({1});
  for (int i = 0; i < 1000; ++i) h.Observe(1e15);
  EXPECT_DOUBLE_EQ(h.sum(), 1e18);
}

TEST(Concurrency, FourThreadsSumExactly) {
  Registry r;
  Counter& c = r.counter("n", "N.");
  Gauge& g = r.gauge("g", "G.");
  Histogram& h = r.histogram("h", "H.", {0.1, 1});
  constexpr int kThreads = 4, kPerThread = 200000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kPerThread; ++j) {
        c.Inc();
        g.Add(i % 2 == 0 ? 1 : -1);        // two threads up, two down
        h.Observe(j % 2 == 0 ? 0.25 : 2);  // both exact in binary, so the sum is exact
      }
    });
  }
  // Scrapes while the writers run must stay self-consistent: _count == the +Inf bucket.
  for (int i = 0; i < 50; ++i) {
    const std::string text = r.RenderPrometheus();
    auto value_after = [&](const std::string& prefix) {
      size_t at = text.find(prefix);
      EXPECT_NE(at, std::string::npos) << prefix;
      return std::stoull(text.substr(at + prefix.size()));
    };
    EXPECT_EQ(value_after("h_bucket{le=\"+Inf\"} "), value_after("h_count "));
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(g.value(), 0);
  EXPECT_EQ(h.count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.bucket(0), 0u);
  EXPECT_EQ(h.bucket(1), uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(h.bucket(2), uint64_t{kThreads} * kPerThread / 2);
  EXPECT_DOUBLE_EQ(h.sum(), kThreads * (kPerThread / 2) * 2.25);
}

TEST(Stages, EachStageIsOneSeriesOfOneFamily) {
  Registry r;
  Histogram& fsync = StageHistogram(r, "fsync");
  EXPECT_EQ(&fsync, &StageHistogram(r, "fsync"));
  Histogram& parse = StageHistogram(r, "frame_parse");
  EXPECT_NE(&fsync, &parse);
  fsync.Observe(0.0003);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("parley_stage_seconds_bucket{stage=\"fsync\",le=\"0.001\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("parley_stage_seconds_count{stage=\"frame_parse\"} 0"), std::string::npos);
}

TEST(Process, FactsAreReadable) {
  EXPECT_GT(ProcessRssBytes(), 0u);
  EXPECT_GT(OpenFileCount(), 2u);  // stdin, stdout, stderr at least
  EXPECT_GT(OpenFileLimit(), 0u);
}

}  // namespace
}  // namespace parley::metrics
