// AttachmentCatalog: what Parley knows about each attachment — who uploaded it, for which
// conversation, what it is (name, type, size, hash, image size, thumbnail, preview) and
// which messages reference it — kept as small objects beside the bytes in the same
// BlobStore, so that the store alone (local directory or S3 bucket) is a complete
// attachment system for one node or a cluster, and a backup of it holds everything.
//
// Layout (keys in the BlobStore):
//   meta/att/<id>.json          the record
//   meta/user/<user>/<id>.<size> one per attachment of the user: the quota is a listing
//   meta/sha/<sha256>/<id>      one per attachment of those bytes: the blob is deleted
//                               only when none is left
//   meta/loose/<id>             the attachment has no reference (never sent, or recalled):
//                               the collector's work list
//   att/ab/cd/<sha256>          the bytes (AttachmentKey); thumb/<sha256>.webp the thumbnail
//
// References are the client_msg_ids of the owner's messages that name the attachment:
// adding the same one twice (a retried send) counts once. An attachment with no
// reference is collected `unsent_ttl` after its upload if it was never sent, or
// `retention` after its last reference went (so that a backup taken before a recall still
// restores a message whose file exists); its bytes go with the last attachment using them.
//
// Thread-safety: all methods are thread-safe; updates of one record are serialised within
// the process (two nodes referencing the same attachment at the same instant is the one
// race left: the owner's own sends of one file from two devices at once).
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

struct AttachmentRecord {
  std::string id;  // 32 hex digits
  ConvId conv = 0;
  UserId owner = 0;
  std::string name;
  std::string mime;
  std::string sha256;
  uint64_t size = 0;
  bool image = false;  // decoded as an image, with a thumbnail
  int width = 0;
  int height = 0;
  std::string preview;  // a tiny JPEG, base64 (images only)
  int64_t created_ms = 0;
  std::vector<std::string> refs;  // client_msg_ids of messages referencing it
  bool ever_referenced = false;
  int64_t unreferenced_ms = 0;  // when `refs` last became empty
};

// The thumbnail's key for the bytes of `sha256`.
std::string ThumbnailKey(const std::string& sha256);
// A new attachment id.
std::string NewAttachmentId();
// True for 32 lower-case hex digits.
bool IsAttachmentId(const std::string& id);

struct CollectPolicy {
  int64_t unsent_ttl_ms = 24LL * 3600 * 1000;      // never referenced
  int64_t retention_ms = 30LL * 24 * 3600 * 1000;  // since the last reference went
};

struct CollectStats {
  size_t attachments = 0;  // records removed
  size_t blobs = 0;        // objects (bytes) removed
  uint64_t bytes = 0;
};

class AttachmentCatalog {
 public:
  AttachmentCatalog(blob::BlobStore* store, std::function<int64_t()> now_ms);

  // Records a new attachment (unreferenced) whose bytes are stored. kUnavailable if the
  // bytes were collected meanwhile (upload again).
  Status Add(const AttachmentRecord& record);
  // kNotFound for an unknown (or malformed) id.
  Result<AttachmentRecord> Get(const std::string& id);
  // Adds `ref`; the record as it is now.
  Result<AttachmentRecord> Reference(const std::string& id, const std::string& ref);
  // Removes `ref` (absent: nothing happens).
  Status Unreference(const std::string& id, const std::string& ref);
  // Bytes of every attachment of `user`.
  Result<uint64_t> UsageOf(UserId user);
  // Removes what `policy` says is due, with the bytes no attachment uses any more.
  Result<CollectStats> Collect(const CollectPolicy& policy);

 private:
  Status Save(const AttachmentRecord& record);
  Status Remove(const AttachmentRecord& record, CollectStats* stats);
  std::mutex& LockFor(const std::string& id);

  blob::BlobStore* store_;
  std::function<int64_t()> now_ms_;
  std::array<std::mutex, 64> locks_;
  std::mutex blob_mu_;  // Add's check that the bytes exist vs. Collect's deletion of them
};

}  // namespace parley::attach
