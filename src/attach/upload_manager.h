// UploadManager: resumable uploads of attachments into a BlobStore, the part of the upload
// protocol that does not depend on HTTP.
//
// An upload is declared first (owner, conversation, size, SHA-256, type, name) and then
// sent in parts of exactly part_bytes (the last one shorter), each at the offset the
// server holds; after a broken connection the client asks for the offset and resends the
// part that did not arrive. Complete() checks the length and the SHA-256 of what arrived
// and only then makes the object visible, under its content address
// "att/<ab>/<cd>/<sha256>" — so a stored object always holds what its name says, and a
// file already stored (same hash) is kept once: deduplication happens only after the
// bytes were received and hashed, never on a claimed hash (no probing whether a file
// exists).
//
// State: each upload's state is a small JSON object in the same BlobStore
// ("uploads/<id>.json", with the running SHA-256 state), so an upload resumes after a
// restart and — with the S3 store — through any node. Parts go straight into the store's
// multipart upload. One writer per upload at a time is assumed (a client sends its parts
// in order); a part sent twice is harmless (same part number, same bytes).
//
// Errors (the HTTP layer maps them): kTooLarge (over the file size limit or past the
// declared size: 413), kFailedPrecondition (offset mismatch: 409, with the server's
// offset), kInvalidArgument (bad declaration, wrong part size, hash or length mismatch:
// 400), kNotFound (no such upload for this user, or expired: 404).
//
// Thread-safety: all methods are thread-safe (uploads are locked by id within a process).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "common/status.h"
#include "model/records.h"

namespace parley::attach {

struct UploadLimits {
  uint64_t max_file_bytes = 100ull << 20;  // 100 MiB
  uint64_t part_bytes = 8ull << 20;        // >= BlobStore::kMinPartBytes
  int64_t ttl_ms = 24LL * 3600 * 1000;     // unfinished uploads are collected after this
};

struct UploadSpec {
  UserId user = 0;
  ConvId conv = 0;
  uint64_t size = 0;
  std::string sha256;  // 64 lower-case hex digits
  std::string mime;    // "image/png"
  std::string name;    // "holiday.png" (a file name, no path)
};

struct UploadState {
  std::string id;  // 32 hex digits
  UploadSpec spec;
  uint64_t offset = 0;
  std::string blob_upload;         // the store's multipart id
  std::vector<std::string> parts;  // ids of the parts sent, in order
  std::string hash_state;          // the running SHA-256 (hex)
  int64_t created_ms = 0;
};

struct StoredFile {
  std::string key;  // "att/ab/cd/<sha256>"
  std::string sha256;
  uint64_t size = 0;
  bool deduplicated = false;  // the object was already stored
};

// The content address of `sha256` (64 hex digits).
std::string AttachmentKey(const std::string& sha256);

// The sum of the sizes that end `keys` ("…/<id>.<size>"): what a quota listing counts.
uint64_t SizesNamedIn(const std::vector<std::string>& keys);

class UploadManager {
 public:
  UploadManager(blob::BlobStore* store, UploadLimits limits, std::function<int64_t()> now_ms);

  const UploadLimits& limits() const { return limits_; }

  Result<UploadState> Create(const UploadSpec& spec);
  Result<UploadState> Get(UserId user, const std::string& id);
  // The declared sizes of the user's uploads in progress (the quota counts them).
  Result<uint64_t> PendingBytes(UserId user);
  // Appends the part at `offset`; returns the new offset.
  Result<uint64_t> Append(UserId user, const std::string& id, uint64_t offset,
                          std::string_view bytes);
  // Checks length and SHA-256, then makes the object visible (or finds it stored already);
  // the upload ends either way (a mismatch discards it: its parts are wrong).
  Result<StoredFile> Complete(UserId user, const std::string& id);
  Status Abort(UserId user, const std::string& id);
  // Removes uploads older than ttl_ms; returns how many.
  Result<size_t> CollectExpired();

 private:
  Result<UploadState> Load(const std::string& id);
  Status Save(const UploadState& state);
  Status Drop(const UploadState& state);
  std::mutex& LockFor(const std::string& id);

  blob::BlobStore* store_;
  UploadLimits limits_;
  std::function<int64_t()> now_ms_;
  std::array<std::mutex, 64> locks_;
};

}  // namespace parley::attach
