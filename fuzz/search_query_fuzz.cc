// A search as a client sends it (src/search/query.cc, search_index.cc): the user's text
// becomes an FTS5 expression and the cursor of a previous page is read back. Whatever is
// typed, SQLite must accept the expression: the answer is hits, invalid_argument or too_large,
// never an FTS5 syntax error or a storage error. Runs against a real index with a few messages.
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "search/query.h"
#include "search/search_index.h"

namespace {

std::unique_ptr<parley::search::SearchIndex> index_;
std::string dir_;

void RemoveDir() {
  index_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace parley::search;
  char dir[] = "/tmp/parley-search-fuzz-XXXXXX";
  FUZZ_CHECK(mkdtemp(dir) != nullptr);
  dir_ = dir;
  std::atexit(RemoveDir);
  bool rebuilt = false;
  auto opened = SearchIndex::Open(std::string(dir) + "/index.sqlite", &rebuilt);
  FUZZ_CHECK(opened.ok());
  index_ = std::move(*opened);
  IndexBatch batch;
  const char* bodies[] = {"deploy the backup tonight", "备份恢复已经完成", "NEAR AND OR *",
                          "\"quoted\" words: colon", "emoji 🎉 and café"};
  uint64_t id = 1;
  for (const char* body : bodies) {
    batch.upserts.push_back(
        {id, 1 + id % 2, id, 100 + id % 3, 1000 * static_cast<int64_t>(id), body, false});
    ++id;
  }
  batch.checkpoint = 1;
  FUZZ_CHECK(index_->Apply(batch).ok());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::search;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t end = rest.find('\n');
  SearchQuery query;
  query.text = std::string(rest.substr(0, end));
  if (end != std::string_view::npos) query.cursor = std::string(rest.substr(end + 1));
  query.scope = {1, 2};
  query.order = (flags & 1) ? SearchOrder::kRelevance : SearchOrder::kNewest;
  if (flags & 2) query.sender = 101;
  if (flags & 4) query.since_ms = 2000;
  if (flags & 8) query.until_ms = 4000;
  query.limit = 1 + flags % 5;
  (void)BodyExpression(query.text);
  auto page = index_->Search(query);
  if (!page.ok()) {
    const parley::Code code = page.status().code();
    if (code != parley::Code::kInvalidArgument && code != parley::Code::kTooLarge) {
      std::fprintf(stderr, "search failed: %s\n", page.status().ToString().c_str());
      FUZZ_CHECK(false);
    }
  } else {
    FUZZ_CHECK(page->hits.size() <= query.limit);
  }
  return 0;
}
