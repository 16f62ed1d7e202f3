// TempDir: a fresh directory under the system temporary directory, removed with
// everything in it when the TempDir goes away — unless Keep() was called (to look at what
// a failing test left behind) or PARLEY_KEEP_TEST_DIRS is set in the environment.
//
// Thread-safety: none needed; one owner. The directory itself is the caller's to share.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace parley::test {

class TempDir {
 public:
  // Creates "<tmp>/<prefix>XXXXXX"; aborts the process if it cannot (a test cannot run
  // without its directory, and a missing one would make it write somewhere unexpected).
  explicit TempDir(std::string_view prefix = "parley-test-");
  // The same, in `parent` (which must exist), without aborting: kIOError if mkdtemp fails.
  static Result<TempDir> Create(std::string_view prefix, const std::string& parent = "");

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // "<path>/<name>".
  std::string Sub(std::string_view name) const;
  // Leaves the directory on disk at destruction.
  void Keep() { keep_ = true; }

 private:
  struct Adopt {};
  TempDir(Adopt, std::string path) : path_(std::move(path)) {}
  void Remove();

  std::string path_;
  bool keep_ = false;
};

}  // namespace parley::test
