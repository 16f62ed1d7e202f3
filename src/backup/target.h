// Where backups are kept. A Target stores named blobs ("chunks/ab/ab12…", "manifests/…");
// a name is relative with no empty, "." or ".." component (any other is refused with
// kInvalidArgument before a path is built). Both targets are a BlobStore underneath
// (src/blob): a local directory, or a bucket (and prefix) of an S3-compatible service.
// Every operation is a whole-object put/get/list/delete.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "s3/s3_client.h"

namespace parley::backup {

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string Describe() const = 0;
  // Stores `data` under `name` all or nothing: durable once this returns, and a crash
  // midway leaves no partial object under `name`.
  virtual Status Put(const std::string& name, std::string_view data) = 0;
  // The object, if it is at most `max_bytes` long: a larger one is kCorruption, refused
  // before it is read (a forged or damaged object must not make the reader allocate it).
  // Only regular files are read: a symlink, device or FIFO in their place is kCorruption.
  virtual Result<std::string> Get(const std::string& name, size_t max_bytes) = 0;
  virtual Result<bool> Exists(const std::string& name) = 0;
  // Names starting with `prefix` ("manifests/"), sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;
  virtual Status Remove(const std::string& name) = 0;
  // Removes leftovers of puts interrupted by a crash.
  virtual Status CleanUp() = 0;
};

// fsync of a local file, or of a directory after entries were created or renamed in it.
Status SyncPath(const std::filesystem::path& path, bool directory);

// A local or mounted directory (created if missing, mode 0700). Objects are written 0600
// through temporary files with random names (O_EXCL|O_NOFOLLOW) and renamed into place.
Result<std::unique_ptr<Target>> OpenDirTarget(const std::string& dir);

// A bucket of an S3-compatible service; every name under `prefix` ("" or "backups/").
Result<std::unique_ptr<Target>> OpenS3Target(s3::S3Config config, std::string prefix);

// "s3://BUCKET[/PREFIX]" on the service `s3` describes (its bucket is replaced), or else a
// directory.
Result<std::unique_ptr<Target>> OpenTarget(const std::string& spec, const s3::S3Config& s3);

}  // namespace parley::backup
