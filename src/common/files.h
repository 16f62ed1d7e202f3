// Private files: how Parley creates, replaces and checks files that hold users' data or
// secrets (the store, backups, exports, the CLI's saved session, key files).
//
// - Everything Parley writes is owner-only: directories 0700, files 0600 (parleyd and the
//   CLI also set umask 077 at start, so files made by libraries such as RocksDB are too).
// - A file is replaced atomically through a temporary file with a random name in the same
//   directory, created with O_CREAT|O_EXCL|O_NOFOLLOW: a symlink planted at the temporary
//   name or at the final name is never followed or written through (rename replaces a
//   symlink at the final name instead of writing into what it points to).
// - A secret file read at start-up (a backup key, a config file holding a token) must not
//   be readable or writable by other users, nor writable by its group.
//
// Thread-safety: free functions and value types; AtomicFile is used by one thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace parley {

constexpr mode_t kPrivateFileMode = 0600;
constexpr mode_t kPrivateDirMode = 0700;

// kPermissionDenied if `path` (followed if a symlink) grants any access to other users or
// write access to its group (mode & 0027), naming `what`, the mode and the fix (chmod 600);
// kNotFound if it cannot be stat'ed.
Status CheckSecretFile(const std::string& path, std::string_view what);

// kInvalidArgument unless `name` is a relative path whose parts are neither empty, "." nor
// "..", without NUL: a name from a manifest or a request that can be joined to a root
// directory without leaving it.
Status CheckObjectName(const std::string& name);

// Creates `dir` and its missing parents with mode 0700 (an existing one is left as it is).
Status CreatePrivateDirs(const std::string& dir);

// Removes group and other permissions from `dir` and everything under it (not following
// symlinks). Returns how many entries were changed; errors on entries it cannot stat or
// chmod are skipped, an unreadable `dir` is an error.
Result<size_t> MakeTreePrivate(const std::string& dir);

// fsync of a file, or of a directory after entries were created or renamed in it.
Status FsyncPath(const std::string& path, bool directory);

// A new file that appears at `path` only on Commit(): written into `dir(path)/.NAME.tmp-
// RANDOM` (O_EXCL|O_NOFOLLOW, `mode`), then fsync'd, renamed over `path` and the directory
// fsync'd. Destroyed without Commit(), the temporary file is removed and `path` untouched.
class AtomicFile {
 public:
  static Result<AtomicFile> Create(const std::string& path, mode_t mode = kPrivateFileMode);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  int fd() const { return fd_; }
  const std::string& temp_path() const { return temp_; }
  // Writes all of `data` (retrying short writes).
  Status Write(std::string_view data);
  // fsync, rename into place, fsync the directory. On error the temporary file is removed.
  Status Commit();

 private:
  AtomicFile(std::string path, std::string temp, int fd)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}
  void Abandon();

  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

// AtomicFile::Create + Write + Commit.
Status WriteFileAtomically(const std::string& path, std::string_view data,
                           mode_t mode = kPrivateFileMode);

}  // namespace parley
