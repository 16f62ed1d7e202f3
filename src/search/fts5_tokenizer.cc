#include "search/fts5_tokenizer.h"

#include <string>

#include "search/tokenizer.h"

namespace parley::search {
namespace {

// FTS5 wants an object per tokenizer instance; ours has no options and no state.
struct Instance {};

int Create(void*, const char**, int n_args, Fts5Tokenizer** out) {
  if (n_args != 0) return SQLITE_ERROR;
  *out = reinterpret_cast<Fts5Tokenizer*>(new Instance);
  return SQLITE_OK;
}

void Delete(Fts5Tokenizer* t) { delete reinterpret_cast<Instance*>(t); }

struct Callback {
  void* fts_ctx;
  int (*token)(void*, int, const char*, int, int, int);
  int rc = SQLITE_OK;
};

bool Forward(void* ctx, std::string_view term, size_t begin, size_t end) {
  auto* cb = static_cast<Callback*>(ctx);
  cb->rc = cb->token(cb->fts_ctx, 0, term.data(), static_cast<int>(term.size()),
                     static_cast<int>(begin), static_cast<int>(end));
  return cb->rc == SQLITE_OK;
}

int TokenizeText(Fts5Tokenizer*, void* fts_ctx, int /*flags*/, const char* text, int n,
                 int (*token)(void*, int, const char*, int, int, int)) {
  Callback cb{fts_ctx, token};
  if (n <= 0) return SQLITE_OK;
  Tokenize(std::string_view(text, static_cast<size_t>(n)), &Forward, &cb);
  return cb.rc == SQLITE_DONE ? SQLITE_OK : cb.rc;
}

fts5_api* Api(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) != SQLITE_OK) return nullptr;
  sqlite3_bind_pointer(stmt, 1, &api, "fts5_api_ptr", nullptr);
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return api;
}

}  // namespace

Status RegisterTokenizer(sqlite3* db) {
  fts5_api* api = Api(db);
  if (api == nullptr) return Status(Code::kInternal, "SQLite has no FTS5");
  fts5_tokenizer tokenizer{&Create, &Delete, &TokenizeText};
  if (api->xCreateTokenizer(api, "parley", nullptr, &tokenizer, nullptr) != SQLITE_OK) {
    return Status(Code::kInternal, std::string("register tokenizer: ") + sqlite3_errmsg(db));
  }
  return Status::Ok();
}

}  // namespace parley::search
