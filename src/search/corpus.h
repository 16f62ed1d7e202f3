// SyntheticCorpus: deterministic, realistic-looking chat messages in mixed Chinese and
// English (plus @mentions, digits, emoji and punctuation), for the search benchmark,
// the engine comparison (docs/search.md) and tests. Word frequencies follow a Zipf law,
// as in real chat, so some query words are very common and some rare.
//
// Thread-safety: none; one per thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace parley::search {

class SyntheticCorpus {
 public:
  explicit SyntheticCorpus(uint64_t seed = 42);

  // One message body, 10-250 bytes, about 80 on average.
  std::string NextMessage();

  // A query word drawn like message words: rank 0 is the most frequent. `cjk` picks a
  // Chinese word (two or more characters) instead of an English one.
  std::string_view Word(size_t rank, bool cjk) const;
  size_t vocabulary(bool cjk) const;
  // A word at a Zipf-distributed rank, as messages use them.
  std::string_view RandomWord(bool cjk);

 private:
  size_t ZipfRank(size_t n);

  std::mt19937_64 rng_;
  std::vector<double> zipf_cdf_;
};

}  // namespace parley::search
