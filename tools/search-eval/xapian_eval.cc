// parley-search-eval-xapian: Xapian 1.4 measured as a candidate engine for message search,
// on the scenario of `parley-bench search` (SQLite FTS5), for the comparison in
// docs/search.md.
//
// The scenario follows apps/parley-bench/search_scenario.cc draw for draw, so both engines
// index the same messages and answer the same queries:
//   - bodies from SyntheticCorpus(42); per message, mt19937_64(7) draws the conversation
//     (1 + rng() % 2000), then the sender (1 + rng() % 5000); doc id = msg id = i + 1, so
//     the newest message has the largest id.
//   - the queries continue both generators after the last message: query i of a run has
//     one word if i is even, else two, each word Chinese or English by rng() % 2. The
//     newest-first run takes the first --queries texts, the relevance run the next ones.
//   - scope: conversations 1, 11, 21, ... (200), as OP_FILTER over boolean terms; 20 hits.
//   - index timing leaves out generating the messages; query timing covers what a search
//     request does: parse, match, fetch each hit's stored body and build its snippet.
#include <fmt/format.h>
#include <xapian.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "search/corpus.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Xapian::TermGenerator;

constexpr int kConversations = 2000;
constexpr int kUsers = 5000;
constexpr int kScope = 200;
constexpr int kHits = 20;

struct Message {
  uint32_t conv = 0;
  uint32_t sender = 0;
  std::string body;
};

std::string ConvTerm(uint32_t conv) { return "XC" + std::to_string(conv); }
std::string SenderTerm(uint32_t user) { return "XU" + std::to_string(user); }

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

uint64_t DirBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    if (f.is_regular_file()) bytes += f.file_size();
  }
  return bytes;
}

// --- Indexing -------------------------------------------------------------------------

struct Variant {
  const char* key;    // in the JSON line
  const char* label;  // in the table
  // STEM_SOME (Xapian's default) adds a "Z"-prefixed stem beside every word, Chinese
  // n-grams included, doubling the terms; STEM_ALL indexes only the stem, which is also
  // what our FTS5 index does (porter over our tokenizer).
  TermGenerator::stem_strategy stemming;
  bool positions;       // needed only for phrase queries ("quoted", Chinese as substring)
  bool big_flush;       // XAPIAN_FLUSH_THRESHOLD=50000 instead of the default 10000 docs
  size_t commit_every;  // 0: once at the end
};

// (d) commits as often as the FTS5 benchmark does (one transaction per 4096-message
// batch), the cadence a live indexer with a checkpoint would have.
constexpr Variant kVariants[] = {
    {"baseline", "a baseline: STEM_SOME, positions", TermGenerator::STEM_SOME, true, false, 0},
    {"tuned", "b tuned: STEM_ALL, positions, 50k", TermGenerator::STEM_ALL, true, true, 0},
    {"tuned_nopos", "c tuned, no positions", TermGenerator::STEM_ALL, false, true, 0},
    {"tuned_commit4096", "d tuned, commit every 4096", TermGenerator::STEM_ALL, true, true, 4096},
};

struct BuildResult {
  double seconds = 0;
  uint64_t bytes = 0;
};

BuildResult Build(const std::vector<Message>& msgs, const fs::path& dir, const Variant& v) {
  // Xapian reads the threshold when the database is opened. A bigger one means fewer,
  // larger batch merges into the B-trees.
  if (v.big_flush) {
    setenv("XAPIAN_FLUSH_THRESHOLD", "50000", 1);
  } else {
    unsetenv("XAPIAN_FLUSH_THRESHOLD");
  }
  const auto t0 = Clock::now();
  Xapian::WritableDatabase db(dir.string(), Xapian::DB_CREATE_OR_OVERWRITE);
  TermGenerator tg;
  tg.set_flags(TermGenerator::FLAG_CJK_NGRAM);
  tg.set_stemmer(Xapian::Stem("english"));
  tg.set_stemming_strategy(v.stemming);
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Message& m = msgs[i];
    Xapian::Document doc;
    // The body is stored so a hit's snippet needs no second lookup (FTS5 keeps it too).
    doc.set_data(m.body);
    tg.set_document(doc);
    if (v.positions) {
      tg.index_text(m.body);
    } else {
      tg.index_text_without_positions(m.body);
    }
    // Boolean terms: no wdf, no position, no effect on weights; used to scope and filter.
    doc.add_boolean_term(ConvTerm(m.conv));
    doc.add_boolean_term(SenderTerm(m.sender));
    if (db.add_document(doc) != i + 1) throw std::runtime_error("doc ids are not msg ids");
    if (v.commit_every != 0 && (i + 1) % v.commit_every == 0) db.commit();
  }
  db.commit();
  BuildResult r;
  r.seconds = Seconds(Clock::now() - t0);
  db.close();
  r.bytes = DirBytes(dir);
  return r;
}

// --- Queries --------------------------------------------------------------------------

// Latency percentiles as parley-bench computes them (apps/parley-bench/latency.h).
double PercentileMs(std::vector<int64_t> ns, double p) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(ns.size() - 1) + 0.5);
  return static_cast<double>(ns[std::min(i, ns.size() - 1)]) / 1e6;
}

double MeanMs(const std::vector<int64_t>& ns) {
  double sum = 0;
  for (int64_t n : ns) sum += static_cast<double>(n);
  return ns.empty() ? 0 : sum / static_cast<double>(ns.size()) / 1e6;
}

// Xapian's QueryParser (1.4) turns an unquoted Chinese word into an AND of its character
// unigrams and bigrams, anywhere in the message; quoted, it is a phrase of the unigrams,
// i.e. a substring match, which is what our FTS5 query does (a phrase of bigrams).
// Query words here are either all ASCII or all Chinese.
std::string QuoteChinese(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = std::min(text.find(' ', start), text.size());
    std::string word = text.substr(start, end - start);
    if (!out.empty()) out += ' ';
    const bool cjk = !word.empty() && static_cast<unsigned char>(word[0]) >= 0x80;
    out += cjk ? '"' + word + '"' : word;
    start = end + 1;
  }
  return out;
}

struct RunStats {
  std::vector<int64_t> all, one_word, two_word;  // ns, whole request
  std::vector<int64_t> match;                    // ns, up to get_mset() only
  uint64_t hits = 0;
  uint64_t estimated_matches = 0;
  uint64_t bad = 0;  // hits out of scope or out of order: must stay 0
};

RunStats RunQueries(const Xapian::Database& db, const std::vector<std::string>& texts,
                    const std::vector<uint32_t>& scope, bool newest, bool phrase) {
  const std::set<uint32_t> in_scope(scope.begin(), scope.end());
  const Xapian::Stem stem("english");
  Xapian::QueryParser qp;
  qp.set_stemmer(stem);
  qp.set_stemming_strategy(Xapian::QueryParser::STEM_ALL);  // as the tuned index
  qp.set_default_op(Xapian::Query::OP_AND);                 // every word must match
  const unsigned flags = Xapian::QueryParser::FLAG_DEFAULT | Xapian::QueryParser::FLAG_CJK_NGRAM;
  RunStats st;
  size_t snippet_bytes = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto t0 = Clock::now();
    std::vector<std::string> conv_terms;
    conv_terms.reserve(scope.size());
    for (uint32_t c : scope) conv_terms.push_back(ConvTerm(c));
    Xapian::Query text = qp.parse_query(phrase ? QuoteChinese(texts[i]) : texts[i], flags);
    Xapian::Query scoped(Xapian::Query::OP_FILTER, text,
                         Xapian::Query(Xapian::Query::OP_OR, conv_terms.begin(), conv_terms.end()));
    Xapian::Enquire enquire(db);
    enquire.set_query(scoped);
    // Weightless matching plus descending doc ids is "newest first"; with BM25 the same
    // order only breaks ties, in favour of newer messages.
    if (newest) enquire.set_weighting_scheme(Xapian::BoolWeight());
    enquire.set_docid_order(Xapian::Enquire::DESCENDING);
    Xapian::MSet mset = enquire.get_mset(0, kHits);
    const auto matched = Clock::now();
    for (auto it = mset.begin(); it != mset.end(); ++it) {
      const std::string body = it.get_document().get_data();
      snippet_bytes +=
          mset.snippet(body, 120, stem,
                       Xapian::MSet::SNIPPET_BACKGROUND_MODEL | Xapian::MSet::SNIPPET_EXHAUSTIVE |
                           Xapian::MSet::SNIPPET_CJK_NGRAM)
              .size();
    }
    const int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    st.all.push_back(ns);
    st.match.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(matched - t0).count());
    (i % 2 == 0 ? st.one_word : st.two_word).push_back(ns);
    st.hits += mset.size();
    st.estimated_matches += mset.get_matches_estimated();

    // Checks, untimed: every hit is in scope, and newest-first really is.
    Xapian::docid prev = 0;
    for (auto it = mset.begin(); it != mset.end(); ++it) {
      Xapian::TermIterator t = db.termlist_begin(*it);
      t.skip_to("XC");
      const bool ok = t != db.termlist_end(*it) && (*t).starts_with("XC") &&
                      in_scope.count(static_cast<uint32_t>(std::stoul((*t).substr(2)))) > 0;
      if (!ok || (newest && prev != 0 && *it >= prev)) ++st.bad;
      prev = *it;
    }
  }
  if (snippet_bytes == 0 && st.hits > 0) ++st.bad;  // snippets must not come back empty
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  size_t docs = 1'000'000;
  size_t queries = 500;
  CLI::App app{"Xapian as Parley's search engine: index rate, size and query latency"};
  app.add_option("--docs", docs, "messages indexed")->check(CLI::Range(1000, 100'000'000));
  app.add_option("--queries", queries, "queries per run (newest first; then by relevance)")
      ->check(CLI::Range(10, 100'000));
  CLI11_PARSE(app, argc, argv);

  const fs::path dir = fs::temp_directory_path() / fmt::format("parley-xapian-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  try {
    // The messages, then the query texts, from the FTS5 benchmark's generators.
    parley::search::SyntheticCorpus corpus(42);
    std::mt19937_64 rng(7);
    std::vector<Message> msgs(docs);
    uint64_t body_bytes = 0;
    for (Message& m : msgs) {
      m.conv = static_cast<uint32_t>(1 + rng() % kConversations);
      m.sender = static_cast<uint32_t>(1 + rng() % kUsers);
      m.body = corpus.NextMessage();
      body_bytes += m.body.size();
    }
    std::vector<std::string> texts[2];  // [0] newest-first run, [1] relevance run
    for (auto& run : texts) {
      for (size_t i = 0; i < queries; ++i) {
        std::string q;
        for (size_t w = 0; w < (i % 2 == 0 ? 1u : 2u); ++w) {
          if (w > 0) q += ' ';
          q += corpus.RandomWord(rng() % 2 == 0);
        }
        run.push_back(std::move(q));
      }
    }
    std::vector<uint32_t> scope;
    for (uint32_t c = 1; scope.size() < kScope; c += kConversations / kScope) scope.push_back(c);

    fmt::print("Xapian {}: {} messages ({:.1f} bytes avg) over {} conversations, {} users\n\n",
               Xapian::version_string(), docs, static_cast<double>(body_bytes) / docs,
               kConversations, kUsers);

    // Indexing. The tuned index (b) is built last and kept for the queries, so its files
    // are as fresh in the page cache as FTS5's are in its benchmark.
    nlohmann::ordered_json json = {{"engine", "xapian"},
                                   {"version", Xapian::version_string()},
                                   {"docs", docs},
                                   {"queries", queries}};
    BuildResult results[std::size(kVariants)];
    for (size_t k : std::array<size_t, 4>{0, 2, 3, 1}) {
      const fs::path path = dir / kVariants[k].key;
      results[k] = Build(msgs, path, kVariants[k]);
      if (k != 1) fs::remove_all(path);
    }
    fmt::print("{:<36} {:>10} {:>9} {:>10}\n", "indexing (time includes commit)", "msgs/s",
               "seconds", "index MiB");
    for (size_t k = 0; k < std::size(kVariants); ++k) {
      const double rate = static_cast<double>(docs) / results[k].seconds;
      const double mib = static_cast<double>(results[k].bytes) / 1048576;
      fmt::print("{:<36} {:>10.0f} {:>9.1f} {:>10.1f}\n", kVariants[k].label, rate,
                 results[k].seconds, mib);
      json["index"][kVariants[k].key] = {{"msgs_per_s", std::lround(rate)},
                                         {"seconds", results[k].seconds},
                                         {"bytes", results[k].bytes}};
    }

    // Queries on (b): both orders, each with Xapian's own Chinese matching and with the
    // FTS5-equivalent substring (phrase) matching.
    Xapian::Database db((dir / kVariants[1].key).string());  // compact() is not const
    fmt::print("\nqueries on (b), {} per run, scope {} conversations, top {}, with snippets\n",
               queries, kScope, kHits);
    // "match" is the time up to get_mset(), without fetching bodies and building snippets.
    fmt::print("{:<20} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9} {:>5} {:>8}\n", "run (ms)",
               "p50", "p99", "1w p50", "1w p99", "2w p50", "2w p99", "match p50", "match p99",
               "hits", "matches");
    uint64_t bad = 0;
    for (bool phrase : {false, true}) {
      for (bool newest : {true, false}) {
        const RunStats st = RunQueries(db, texts[newest ? 0 : 1], scope, newest, phrase);
        bad += st.bad;
        const std::string key =
            fmt::format("{}_{}", newest ? "newest" : "relevance", phrase ? "phrase" : "ngram_and");
        const double n = static_cast<double>(st.all.size());
        fmt::print(
            "{:<20} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>9.3f} {:>9.3f} "
            "{:>5.1f} {:>8.0f}\n",
            key, PercentileMs(st.all, 50), PercentileMs(st.all, 99), PercentileMs(st.one_word, 50),
            PercentileMs(st.one_word, 99), PercentileMs(st.two_word, 50),
            PercentileMs(st.two_word, 99), PercentileMs(st.match, 50), PercentileMs(st.match, 99),
            static_cast<double>(st.hits) / n, static_cast<double>(st.estimated_matches) / n);
        json["query"][key] = {{"p50_ms", PercentileMs(st.all, 50)},
                              {"p99_ms", PercentileMs(st.all, 99)},
                              {"mean_ms", MeanMs(st.all)},
                              {"one_word_p50_ms", PercentileMs(st.one_word, 50)},
                              {"one_word_p99_ms", PercentileMs(st.one_word, 99)},
                              {"two_word_p50_ms", PercentileMs(st.two_word, 50)},
                              {"two_word_p99_ms", PercentileMs(st.two_word, 99)},
                              {"match_p50_ms", PercentileMs(st.match, 50)},
                              {"match_p99_ms", PercentileMs(st.match, 99)},
                              {"hits_per_query", static_cast<double>(st.hits) / n}};
      }
    }

    // What a fully merged index would take (e.g. after a rebuild): xapian-compact.
    const auto t0 = Clock::now();
    db.compact((dir / "compacted").string());
    const double compact_s = Seconds(Clock::now() - t0);
    const uint64_t compacted = DirBytes(dir / "compacted");
    fmt::print("\n(b) compacted: {:.1f} MiB in {:.1f} s\n",
               static_cast<double>(compacted) / 1048576, compact_s);
    json["compacted_bytes"] = compacted;
    json["check_failures"] = bad;
    if (bad != 0) fmt::print("CHECK FAILED: {} hits out of scope, out of order or empty\n", bad);
    fmt::print("{}\n", json.dump());
    fs::remove_all(dir);
    return bad == 0 ? 0 : 1;
  } catch (const Xapian::Error& e) {
    fmt::print(stderr, "xapian: {}\n", e.get_description());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
  }
  fs::remove_all(dir);
  return 1;
}
