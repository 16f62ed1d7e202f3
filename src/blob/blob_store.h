// BlobStore: where attachment bytes (and, through an adapter, backups) live — a local
// directory under the data dir (the embedded default) or an S3-compatible service (the one
// to use in cluster mode). Keys are relative paths ("att/ab/cd/<sha256>"), validated
// before any path or URL is made of them: no empty, "." or ".." part, no NUL, no
// leading '/'.
//
// Objects are written whole (Put) or in parts (multipart: every part but the last at
// least kMinPartBytes, as S3 requires), and are visible only once complete: a crash midway
// never leaves a partial object under its key.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace parley::blob {

// A byte range: `length` 0 = to the end.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct BlobInfo {
  uint64_t size = 0;
};

using Sink = std::function<Status(std::string_view)>;

class BlobStore {
 public:
  static constexpr uint64_t kMinPartBytes = 5ull << 20;
  static constexpr int kMaxParts = 10000;

  virtual ~BlobStore() = default;
  virtual std::string Describe() const = 0;

  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // The bytes of `range` (the object's end clips it), refused (kCorruption, "over the
  // limit") over max_bytes before they are read: a forged or damaged object must not make
  // the reader allocate it. kNotFound for no such object; kInvalidArgument when range.offset is
  // past the end.
  virtual Result<std::string> Get(const std::string& key, ByteRange range, size_t max_bytes) = 0;
  // Streams `range` of the object to `sink` in pieces; a sink error stops it.
  virtual Status Read(const std::string& key, ByteRange range, const Sink& sink) = 0;
  // nullopt: no such object.
  virtual Result<std::optional<BlobInfo>> Head(const std::string& key) = 0;
  virtual Status Delete(const std::string& key) = 0;  // ok if absent
  // Keys starting with `prefix`, sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;

  // Multipart upload: parts numbered from 1, in any order, each replaceable until Complete,
  // which joins parts 1..N (their ids as PutPart returned them) into the object.
  virtual Result<std::string> StartMultipart(const std::string& key) = 0;
  virtual Result<std::string> PutPart(const std::string& key, const std::string& upload, int part,
                                      std::string_view data) = 0;
  virtual Status CompleteMultipart(const std::string& key, const std::string& upload,
                                   const std::vector<std::string>& parts) = 0;
  virtual Status AbortMultipart(const std::string& key, const std::string& upload) = 0;

  // A URL a client may GET directly for `ttl`, answered with these Content-Type and
  // Content-Disposition; nullopt when the store has no such URLs (local: parleyd streams).
  virtual std::optional<std::string> PresignGet(const std::string& key, std::chrono::seconds ttl,
                                                std::string_view content_type,
                                                std::string_view disposition) const = 0;

  // Removes leftovers of writes interrupted by a crash (local temporary files).
  virtual Status CleanUp() = 0;
};

// kInvalidArgument unless `key` is a relative path of non-empty, non-dot parts.
Status CheckKey(const std::string& key);

// A directory (created 0700 if missing). Objects are files written through temporary
// files and renamed into place (fsynced); multipart parts wait under DIR/.multipart/.
Result<std::unique_ptr<BlobStore>> OpenLocalBlobStore(const std::string& dir);

}  // namespace parley::blob
