// Attachment transfers: the client side of parleyd's attachment HTTP API (docs/protocol.md
// §7) — a resumable upload in parts, a resumable download, and the Attachment of an id.
//
// Every call blocks; every request is bounded (10 s to connect, and a transfer that moves
// no byte for 60 s is cut). Files are streamed: an upload holds one part in memory, a
// download one network buffer. Errors: a transport failure (after the retries) is
// kUnavailable with IsTransportError() true; a server refusal is its error mapped to a
// code (transfer_http.h, StatusFromHttpError), e.g. quota_exceeded -> kResourceExhausted,
// not_member -> kNotMember, checksum_mismatch -> kInvalidArgument; a local file problem is
// kIOError naming the file.
//
// Thread-safety: free functions; calls for different files may run on different threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "client/attachment_info.h"
#include "common/status.h"

namespace parley::client {

// Where and as whom: parleyd's HTTP base and a logged-in device's token.
struct TransferTarget {
  std::string base_url;  // "http://127.0.0.1:7800" or "https://host:443", no trailing /
  std::string token;     // the device token of login/register
  std::string ca_file;   // PEM CAs for https:// ("": the system's)
};

// The target for the server URL the CLI stores ("ws://HOST:PORT/ws", "wss://…"): the same
// host and port over http(s). kInvalidArgument for a malformed URL.
Result<TransferTarget> TargetForServer(const std::string& server_url, const std::string& token,
                                       const std::string& ca_file);

// (bytes done, bytes total) — called often; a caller that draws should throttle.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct UploadOptions {
  std::string name;  // the file name the server stores. Default: the path's last component.
  // Continue this upload (its id from an earlier run) instead of creating one; an id the
  // server no longer knows (expired, another file) starts a fresh upload.
  // Default: "" (look in journal_dir, else create).
  std::string resume_upload_id;
  // Where unfinished uploads are remembered (upload_journal.h), so that a later run with
  // the same file and conversation resumes. Default: "" (not remembered).
  std::string journal_dir;
  // Attempts per part after a transport error, 5xx or 429, with backoff (0.5 s doubling to
  // 10 s, or the server's Retry-After). Default: 6.
  int max_retries = 6;
  ProgressFn progress;
};

// Uploads the file at `path` for conversation `conv`: hashes it (SHA-256), creates the
// upload (or resumes one), sends it in the server's `part_bytes` parts, completes it. On
// 409 offset_mismatch it continues from the server's offset; after a transport error or a
// 5xx it asks the server's offset (HEAD) and goes on, up to max_retries times in a row.
// The file must not change while it is sent (the server would refuse the checksum).
Result<AttachmentInfo> UploadFile(const TransferTarget& target, ConvId conv,
                                  const std::string& path, const std::string& mime,
                                  const UploadOptions& options = {});

struct DownloadOptions {
  bool thumbnail = false;  // GET …/thumbnail instead of the file. Default: false.
  // Continue an existing `<out>.part` with a Range request. Default: true.
  bool resume = true;
  int max_retries = 6;  // like UploadOptions::max_retries. Default: 6.
  ProgressFn progress;
};

struct DownloadResult {
  uint64_t bytes = 0;     // the size of the file written
  std::string sha256;     // of the file written, hex
  bool verified = false;  // it matched the server's ETag
  bool resumed = false;   // an earlier .part was continued
  std::string content_type;
};

// Downloads attachment `id` (32 hex) to `out_path`: streamed into `out_path + ".part"`,
// which a later call continues (Range: bytes=N-), and renamed into place once complete
// and its SHA-256 matches the server's ETag (`"<sha256>"`; kCorruption and the .part
// removed otherwise). A 302 to a presigned object-store URL is followed without the
// Authorization header. A transfer cut midway is resumed from what arrived, up to
// max_retries times.
Result<DownloadResult> DownloadAttachment(const TransferTarget& target, const std::string& id,
                                          const std::string& out_path,
                                          const DownloadOptions& options = {});

// GET /v1/attachments/{id}/info.
Result<AttachmentInfo> GetAttachmentInfo(const TransferTarget& target, const std::string& id);

}  // namespace parley::client
