#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>

namespace parley::test {
namespace fs = std::filesystem;

Result<TempDir> TempDir::Create(std::string_view prefix, const std::string& parent) {
  std::error_code ec;
  const fs::path base = parent.empty() ? fs::temp_directory_path(ec) : fs::path(parent);
  if (ec) return Status(Code::kIOError, "no temporary directory: " + ec.message());
  std::string tmpl = (base / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Status(Code::kIOError, "cannot create a directory like " + tmpl);
  }
  TempDir dir(Adopt{}, std::move(tmpl));
  dir.keep_ = std::getenv("PARLEY_KEEP_TEST_DIRS") != nullptr;
  return dir;
}

TempDir::TempDir(std::string_view prefix) {
  auto made = Create(prefix);
  if (!made.ok()) {
    std::fprintf(stderr, "TempDir: %s\n", made.status().ToString().c_str());
    std::abort();
  }
  *this = std::move(made).value();
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
    keep_ = other.keep_;
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

std::string TempDir::Sub(std::string_view name) const {
  std::string out = path_;
  out += '/';
  out += name;
  return out;
}

void TempDir::Remove() {
  if (path_.empty()) return;
  if (keep_) {
    std::fprintf(stderr, "TempDir: kept %s\n", path_.c_str());
  } else {
    std::error_code ec;  // best effort: a test's leftovers must not fail the next one
    fs::remove_all(path_, ec);
  }
  path_.clear();
}

}  // namespace parley::test
