// `parley-bench search`: the search index measured on its own, then inside parleyd.
//
// 1. index: N synthetic mixed Chinese/English chat messages (search/corpus.h), spread over
//    2,000 conversations, indexed in batches as the indexer does -> index_msgs_per_s.
// 2. query: one- and two-word queries scoped to one user's 200 conversations, 20 hits,
//    newest first (the default) and by relevance -> query_p50_ms, query_p99_ms.
// 3. lag: a private parleyd takes `pairs` traffic at --lag-rate messages/s while
//    /metrics is sampled for parley_search_lag_seconds -> lag_max_s.
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "common/clock.h"
#include "latency.h"
#include "net_common.h"
#include "scenarios.h"
#include "search/corpus.h"
#include "search/search_index.h"
#include "search_probe.h"

namespace parley::bench {
namespace {

using search::SearchIndex;
using search::SearchOrder;

// The value of an unlabelled metric in Prometheus text, or -1.
double MetricValue(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
}

std::string Query(search::SyntheticCorpus& corpus, std::mt19937_64& rng, int words) {
  std::string q;
  for (int w = 0; w < words; ++w) {
    if (w > 0) q += ' ';
    q += corpus.RandomWord(rng() % 2 == 0);
  }
  return q;
}

struct IndexPhase {
  double rate = 0;    // messages indexed per second
  size_t bytes = 0;   // of message text
  uint64_t disk = 0;  // the index's files
};

// 1. Index: opt.docs synthetic messages over opt.conversations, in batches as the indexer
// applies them. Returns false (having printed why) if a batch fails.
bool BuildIndex(SearchIndex& index, const SearchScenarioOptions& opt, const std::string& dir,
                search::SyntheticCorpus& corpus, std::mt19937_64& rng, IndexPhase* out) {
  constexpr size_t kBatch = 4096;
  double index_seconds = 0;
  for (size_t done = 0; done < opt.docs;) {
    search::IndexBatch batch;
    for (size_t k = 0; k < kBatch && done < opt.docs; ++k, ++done) {
      search::IndexedMessage m;
      m.msg_id = done + 1;
      m.conv = 1 + rng() % static_cast<uint64_t>(opt.conversations);
      m.seq = done + 1;
      m.sender = 1 + rng() % 5000;
      m.ms = 1'700'000'000'000 + static_cast<int64_t>(done) * 10;
      m.body = corpus.NextMessage();
      out->bytes += m.body.size();
      batch.upserts.push_back(std::move(m));
    }
    batch.checkpoint = done;
    const int64_t t0 = MonotonicNanos();
    if (Status st = index.Apply(batch); !st.ok()) return fmt::print("{}\n", st.ToString()), false;
    index_seconds += static_cast<double>(MonotonicNanos() - t0) / 1e9;
  }
  out->rate = static_cast<double>(opt.docs) / index_seconds;
  for (auto& f : std::filesystem::directory_iterator(dir)) out->disk += f.file_size();
  return true;
}

struct QueryPhase {
  size_t scope = 0;  // conversations the asker is in
  Latencies newest, relevance;
  uint64_t newest_hits = 0, relevance_hits = 0, errors = 0;
};

// 2. Query: one- and two-word queries in one user's scope, 20 hits, newest first, then a
// fifth as many by relevance.
QueryPhase RunQueries(SearchIndex& index, const SearchScenarioOptions& opt,
                      search::SyntheticCorpus& corpus, std::mt19937_64& rng) {
  QueryPhase out;
  std::vector<ConvId> scope;
  for (int c = 1; c <= opt.conversations && static_cast<int>(scope.size()) < opt.user_conversations;
       c += opt.conversations / opt.user_conversations) {
    scope.push_back(static_cast<ConvId>(c));
  }
  out.scope = scope.size();
  auto run_queries = [&](SearchOrder order, size_t n, Latencies* lat, uint64_t* hits,
                         uint64_t* errors) {
    for (size_t i = 0; i < n; ++i) {
      search::SearchQuery q;
      q.text = Query(corpus, rng, i % 2 == 0 ? 1 : 2);
      q.scope = scope;
      q.order = order;
      q.limit = 20;
      const int64_t t0 = MonotonicNanos();
      auto page = index.Search(q);
      lat->Add(MonotonicNanos() - t0);
      if (page.ok()) {
        *hits += page->hits.size();
      } else {
        ++*errors;
      }
    }
  };
  run_queries(SearchOrder::kNewest, opt.queries, &out.newest, &out.newest_hits, &out.errors);
  run_queries(SearchOrder::kRelevance, std::max<size_t>(1, opt.queries / 5), &out.relevance,
              &out.relevance_hits, &out.errors);
  return out;
}

struct LagPhase {
  double lag_max = 0, lag_changes_max = 0;  // from /metrics (a private parleyd only)
  uint64_t indexed_docs = 0;
  VisibilityFigures probe;  // end to end: ack -> found by search
};

// 3. Lag inside parleyd under message load: /metrics sampled every 100 ms while `pairs`
// traffic runs. Returns false (having printed why) if parleyd or the load fails.
bool MeasureLag(const SearchScenarioOptions& opt, LagPhase* out) {
  NetOptions net;
  net.seconds = opt.lag_seconds;
  net.rate = opt.lag_rate;
  net.pairs = opt.lag_pairs;
  net.server = opt.server;
  auto target = OpenTarget(net);
  if (!target.ok()) return fmt::print(stderr, "{}\n", target.status().ToString()), false;
  std::atomic<bool> done{false};
  int pairs_rc = 0;
  std::thread load([&] {
    pairs_rc = RunPairsOn(*target, net);
    done = true;
  });
  SearchVisibilityProbe probe(target->url, std::chrono::milliseconds(200));
  probe.Start();
  // Sample every 100 ms; bounded by the load's duration plus set-up (at most 10 min).
  for (int i = 0; i < 6000 && !done; ++i) {
    if (!target->process) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    auto text = target->process->HttpGet("/metrics");
    if (text.ok()) {
      out->lag_max = std::max(out->lag_max, MetricValue(*text, "parley_search_lag_seconds"));
      out->lag_changes_max =
          std::max(out->lag_changes_max, MetricValue(*text, "parley_search_lag_changes"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  load.join();
  out->probe = probe.Stop();
  if (pairs_rc != 0) return fmt::print("the message load failed\n"), false;
  if (!target->process) return true;
  auto text = target->process->HttpGet("/metrics");
  if (text.ok()) {
    out->indexed_docs = static_cast<uint64_t>(
        std::max(0.0, MetricValue(*text, "parley_search_documents_indexed_total")));
  }
  return true;
}

// The table, then one line of JSON. (`q` is not const: Latencies sorts its samples when
// asked for a percentile.)
void PrintSearchFigures(const SearchScenarioOptions& opt, const IndexPhase& ix, QueryPhase& q,
                        LagPhase& lag) {
  fmt::print("\n{:<34} {:>12}\n", "figure", "value");
  fmt::print("{:<34} {:>12.0f}\n", "index_msgs_per_s", ix.rate);
  fmt::print("{:<34} {:>12.1f}\n", "avg message bytes", static_cast<double>(ix.bytes) / opt.docs);
  fmt::print("{:<34} {:>12.1f}\n", "index MiB on disk", static_cast<double>(ix.disk) / 1048576);
  fmt::print("{:<34} {:>12.3f}\n", "query_p50_ms (newest first)", q.newest.PercentileMs(50));
  fmt::print("{:<34} {:>12.3f}\n", "query_p99_ms (newest first)", q.newest.PercentileMs(99));
  fmt::print("{:<34} {:>12.1f}\n", "hits per query (newest, max 20)",
             static_cast<double>(q.newest_hits) / static_cast<double>(opt.queries));
  fmt::print("{:<34} {:>12.3f}\n", "relevance_p50_ms", q.relevance.PercentileMs(50));
  fmt::print("{:<34} {:>12.3f}\n", "relevance_p99_ms", q.relevance.PercentileMs(99));
  fmt::print("{:<34} {:>12}\n", "query errors", q.errors);
  if (opt.lag_seconds > 0) {
    fmt::print("{:<34} {:>12.3f}\n", "lag_max_s", lag.lag_max);
    fmt::print("{:<34} {:>12.0f}\n", "lag_max_changes", lag.lag_changes_max);
    fmt::print("{:<34} {:>12}\n", "documents indexed by parleyd", lag.indexed_docs);
    fmt::print("{:<34} {:>12.1f}\n", "visible_p50_ms (ack -> found)",
               lag.probe.visible.PercentileMs(50));
    fmt::print("{:<34} {:>12.1f}\n", "visible_p99_ms", lag.probe.visible.PercentileMs(99));
    fmt::print("{:<34} {:>12.1f}\n", "visible_max_ms", lag.probe.visible.PercentileMs(100));
    fmt::print("{:<34} {:>12}\n", "probes (missed after 10 s)",
               fmt::format("{} ({})", lag.probe.probes, lag.probe.missed));
  }
  fmt::print(
      "{{\"scenario\":\"search\",\"index_msgs_per_s\":{:.0f},\"query_p50_ms\":{:.3f},"
      "\"query_p99_ms\":{:.3f},\"relevance_p50_ms\":{:.3f},\"relevance_p99_ms\":{:.3f},"
      "\"docs\":{},\"scope_convs\":{},\"lag_max_s\":{:.3f},\"lag_rate\":{:.0f},"
      "\"visible_p50_ms\":{:.1f},\"visible_p99_ms\":{:.1f},\"visible_max_ms\":{:.1f},"
      "\"probes\":{},\"probes_missed\":{},\"errors\":{}}}\n",
      ix.rate, q.newest.PercentileMs(50), q.newest.PercentileMs(99), q.relevance.PercentileMs(50),
      q.relevance.PercentileMs(99), opt.docs, q.scope, lag.lag_max,
      opt.lag_seconds > 0 ? opt.lag_rate : 0, lag.probe.visible.PercentileMs(50),
      lag.probe.visible.PercentileMs(99), lag.probe.visible.PercentileMs(100), lag.probe.probes,
      lag.probe.missed, q.errors + lag.probe.errors);
}

}  // namespace

int RunSearchScenario(const SearchScenarioOptions& opt) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("parley-search-{}", ::getpid()))
          .string();
  std::filesystem::remove_all(dir);
  bool rebuilt = false;
  auto opened = SearchIndex::Open(dir + "/index.db", &rebuilt);
  if (!opened.ok()) return fmt::print(stderr, "{}\n", opened.status().ToString()), 1;
  fmt::print("search: {} messages over {} conversations; scope {} conversations\n", opt.docs,
             opt.conversations, opt.user_conversations);

  search::SyntheticCorpus corpus(42);
  std::mt19937_64 rng(7);
  IndexPhase ix;
  QueryPhase q;
  if (!opt.lag_only) {
    if (!BuildIndex(**opened, opt, dir, corpus, rng, &ix)) return 1;
    q = RunQueries(**opened, opt, corpus, rng);
  }
  opened->reset();  // close before removing the files
  std::filesystem::remove_all(dir);

  LagPhase lag;
  if (opt.lag_seconds > 0 && !MeasureLag(opt, &lag)) return 1;
  PrintSearchFigures(opt, ix, q, lag);
  return q.errors == 0 && lag.probe.errors == 0 && lag.probe.missed == 0 ? 0 : 1;
}

}  // namespace parley::bench
