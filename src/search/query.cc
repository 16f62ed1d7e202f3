#include "search/query.h"

#include <vector>

#include "search/tokenizer.h"

namespace parley::search {
namespace {

bool HasTerms(std::string_view text) {
  bool found = false;
  Tokenize(
      text,
      [](void* ctx, std::string_view, size_t, size_t) {
        *static_cast<bool*>(ctx) = true;
        return false;  // one is enough
      },
      &found);
  return found;
}

// Control characters separate words too: a NUL inside an FTS5 string ends the expression
// for SQLite's parser (a syntax error, found by fuzz/search_query_fuzz.cc).
bool IsSpace(char c) { return c == ' ' || (static_cast<unsigned char>(c) < 0x20) || c == 0x7f; }

// An FTS5 string literal: double quotes, inner quotes doubled, control characters (a NUL
// would end the string for SQLite's parser) as spaces.
void AppendQuoted(std::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(IsSpace(c) ? ' ' : c);
  }
  out->push_back('"');
}

}  // namespace

Result<std::string> BodyExpression(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    return Status(Code::kTooLarge,
                  "query longer than " + std::to_string(kMaxQueryBytes) + " bytes");
  }
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < text.size()) {
    if (IsSpace(text[i])) {
      ++i;
      continue;
    }
    size_t begin = i, end;
    if (text[i] == '"') {  // a phrase, to the closing quote (or the end)
      begin = i + 1;
      end = text.find('"', begin);
      if (end == std::string_view::npos) end = text.size();
      i = end + 1;
    } else {
      while (i < text.size() && !IsSpace(text[i]) && text[i] != '"') ++i;
      end = i;
    }
    std::string_view part = text.substr(begin, end - begin);
    if (HasTerms(part)) parts.push_back(part);
  }
  if (parts.empty()) return Status(Code::kInvalidArgument, "the query has no searchable words");
  if (parts.size() > kMaxQueryTerms) {
    return Status(Code::kInvalidArgument,
                  "at most " + std::to_string(kMaxQueryTerms) + " words or phrases");
  }
  std::string expr = "body : (";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) expr += " AND ";
    AppendQuoted(parts[k], &expr);
  }
  expr += ')';
  return expr;
}

std::string IdsExpression(std::string_view column, std::span<const uint64_t> ids) {
  std::string expr(column);
  expr += " : (";
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k > 0) expr += " OR ";
    expr += std::to_string(ids[k]);
  }
  expr += ')';
  return expr;
}

}  // namespace parley::search
