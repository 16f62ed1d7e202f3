#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace parley::metrics {
namespace {

TEST(Registry, RendersFamiliesInTextFormat) {
  Registry r;
  r.counter("req_total", "Requests.", {{"code", "a\"b"}}).Inc(3);
  r.counter("req_total", "Requests.", {{"code", "ok"}}).Inc();
  r.gauge("conns", "Connections.").Set(-2);
  auto& h = r.histogram("lat_seconds", "Latency.", {0.5, 1});
  h.Observe(0.5);  // on the bound: counts in le="0.5"
  h.Observe(0.75);
  h.Observe(3);
  r.gauge_fn("rss", "Memory.", [] { return 1.5; });
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP req_total Requests.\n# TYPE req_total counter\n"
            "req_total{code=\"a\\\"b\"} 3\nreq_total{code=\"ok\"} 1\n"
            "# HELP conns Connections.\n# TYPE conns gauge\nconns -2\n"
            "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.5\"} 1\nlat_seconds_bucket{le=\"1\"} 2\n"
            "lat_seconds_bucket{le=\"+Inf\"} 3\nlat_seconds_sum 4.25\nlat_seconds_count 3\n"
            "# HELP rss Memory.\n# TYPE rss gauge\nrss 1.5\n");
}

TEST(Registry, SameNameAndLabelsIsTheSameSeries) {
  Registry r;
  Counter& a = r.counter("x", "X.");
  Counter& b = r.counter("x", "X.");
  EXPECT_EQ(&a, &b);
}

TEST(Counter, ConcurrentIncrementsAreExact) {
  Registry r;
  Counter& c = r.counter("n", "N.");
  Histogram& h = r.histogram("h", "H.", {1});
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100000; ++j) {
        c.Inc();
        h.Observe(0.25);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
  EXPECT_EQ(h.count(), 400000u);
  EXPECT_DOUBLE_EQ(h.sum(), 100000.0);
}

TEST(Process, FactsAreReadable) {
  EXPECT_GT(ProcessRssBytes(), 0u);
  EXPECT_GT(OpenFileCount(), 0u);
  EXPECT_GT(OpenFileLimit(), 0u);
}

}  // namespace
}  // namespace parley::metrics
