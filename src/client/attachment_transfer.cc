// Uploads and the Attachment lookup (downloads: attachment_download.cc).
#include "client/attachment_transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "client/backoff.h"
#include "client/connection.h"
#include "client/sha256_stream.h"
#include "client/transfer_http.h"
#include "client/transfer_target.h"
#include "client/upload_journal.h"

namespace parley::client {
namespace {

using nlohmann::json;

// Where an upload stands on the server.
struct UploadPosition {
  std::string id;
  uint64_t offset = 0;
  uint64_t part_bytes = 0;
};

// Everything one UploadFile call works with.
struct Upload {
  const TransferTarget& target;
  const UploadOptions& options;
  ConvId conv;
  std::string path;
  uint64_t size = 0;
  std::string sha256;
};

// The create and GET replies: {"upload_id","offset","size","part_bytes",…}.
Result<UploadPosition> ParsePosition(const HttpReply& r, uint64_t size) {
  const json o = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  const auto field = [&o](const char* key) {
    auto it = o.is_object() ? o.find(key) : o.end();
    return it != o.end() && it->is_number_unsigned() ? it->get<uint64_t>() : uint64_t{0};
  };
  UploadPosition p;
  if (o.is_object() && o.contains("upload_id") && o["upload_id"].is_string()) {
    p.id = o["upload_id"].get<std::string>();
  }
  p.offset = field("offset");
  p.part_bytes = field("part_bytes");
  if (p.id.empty() || p.part_bytes == 0 || field("size") != size || p.offset > size) {
    return Status(Code::kBadRequest, "unexpected upload reply from the server: " + r.body);
  }
  return p;
}

Result<UploadPosition> Create(const Upload& u, const std::string& mime) {
  const std::string name =
      u.options.name.empty() ? std::filesystem::path(u.path).filename().string() : u.options.name;
  const json body = {{"conv", u.conv},
                     {"size", u.size},
                     {"sha256", u.sha256},
                     {"mime", mime.empty() ? "application/octet-stream" : mime},
                     {"name", name}};
  PARLEY_ASSIGN_OR_RETURN(HttpReply r,
                          JsonRequest(u.target, "POST", "/v1/uploads",
                                      body.dump(-1, ' ', false, json::error_handler_t::replace)));
  if (r.status != 201 && r.status != 200) return StatusFromHttpError(r.status, r.body);
  return ParsePosition(r, u.size);
}

// An earlier upload to continue: the explicit id, else the journal's entry for these
// bytes and this conversation. nullopt: start a new one.
std::optional<UploadPosition> Reopen(const Upload& u) {
  std::string id = u.options.resume_upload_id;
  if (id.empty() && !u.options.journal_dir.empty()) {
    auto entry = LoadUploadEntry(u.options.journal_dir, u.sha256);
    if (entry && entry->conv == u.conv && entry->size == u.size &&
        entry->server == u.target.base_url) {
      id = entry->upload_id;
    }
  }
  if (id.empty() || !IsAttachmentId(id)) return std::nullopt;
  auto r = JsonRequest(u.target, "GET", "/v1/uploads/" + id);
  if (!r.ok() || r->status != 200) return std::nullopt;  // gone, or not ours: a new upload
  auto p = ParsePosition(*r, u.size);
  if (!p.ok()) return std::nullopt;
  return *p;
}

// The server's offset (HEAD), after a failed part. nullopt when it could not say.
Result<std::optional<uint64_t>> ServerOffset(const Upload& u, const std::string& id) {
  auto r = JsonRequest(u.target, "HEAD", "/v1/uploads/" + id);
  if (!r.ok()) return std::optional<uint64_t>();  // unreachable: try the part again
  if (r->status == 404) {
    return Status(Code::kNotFound, "the server no longer knows upload " + id +
                                       " (it expired or was discarded); send the file again");
  }
  const int64_t at = ParseDecimal(r->Header("upload-offset"));
  if (r->status != 200 || at < 0) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(at));
}

// The offset a 409 offset_mismatch names (body, else header); -1 if none.
int64_t ConflictOffset(const HttpReply& r) {
  const json o = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (o.is_object() && o.contains("offset") && o["offset"].is_number_unsigned()) {
    return static_cast<int64_t>(o["offset"].get<uint64_t>());
  }
  return ParseDecimal(r.Header("upload-offset"));
}

Status ReadPart(int fd, const std::string& path, uint64_t offset, size_t length, std::string& out) {
  out.resize(length);
  size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status(Code::kIOError, "cannot read " + path + ": " +
                                        (n == 0 ? "it got shorter" : std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Sends the parts from p.offset to the end.
Status SendParts(const Upload& u, int fd, UploadPosition& p) {
  Backoff backoff(500, 10000);
  int failures = 0;   // transport errors and 5xx in a row
  int conflicts = 0;  // 409s in a row: a server that keeps moving the offset is broken
  HttpCall call;
  call.method = "PATCH";
  call.url = u.target.base_url + "/v1/uploads/" + p.id;
  call.ca_file = u.target.ca_file;
  Status last;
  while (p.offset < u.size) {
    const auto length = static_cast<size_t>(std::min<uint64_t>(p.part_bytes, u.size - p.offset));
    PARLEY_RETURN_IF_ERROR(ReadPart(fd, u.path, p.offset, length, call.body));
    call.headers = {AuthHeader(u.target), "Upload-Offset: " + std::to_string(p.offset),
                    "Content-Type: application/offset+octet-stream"};
    const uint64_t at = p.offset;
    if (u.options.progress) {
      call.progress = [&u, at](uint64_t sent, uint64_t) { u.options.progress(at + sent, u.size); };
    }
    auto r = Perform(call);
    if (r.ok() && r->status >= 200 && r->status < 300) {
      const int64_t next = ParseDecimal(r->Header("upload-offset"));
      p.offset = next >= 0 ? static_cast<uint64_t>(next) : at + length;
      failures = conflicts = 0;
      backoff.Reset();
      if (u.options.progress) u.options.progress(p.offset, u.size);
      continue;
    }
    if (r.ok() && r->status == 409) {
      const int64_t next = ConflictOffset(*r);
      if (next < 0 || static_cast<uint64_t>(next) > u.size || ++conflicts > 3) {
        return StatusFromHttpError(r->status, r->body);
      }
      p.offset = static_cast<uint64_t>(next);
      continue;
    }
    const bool retry = r.ok() ? IsRetryableHttp(r->status) : IsTransportError(r.status());
    last = r.ok() ? StatusFromHttpError(r->status, r->body) : r.status();
    if (!retry) return last;
    if (++failures > u.options.max_retries) {
      return Status(last.code(),
                    last.message() + " (gave up after " + std::to_string(failures) + " attempts)");
    }
    int64_t delay = backoff.NextDelayMs();
    if (r.ok()) delay = std::max(delay, RetryAfterMs(*r));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    PARLEY_ASSIGN_OR_RETURN(std::optional<uint64_t> server_at, ServerOffset(u, p.id));
    if (server_at && *server_at <= u.size) p.offset = *server_at;
  }
  return Status::Ok();
}

// POST …/complete. A reply lost on the way leaves the upload completed or not: a retry
// that then finds no upload cannot tell which, and says so.
Result<AttachmentInfo> Complete(const Upload& u, const std::string& id) {
  Backoff backoff(500, 10000);
  bool lost_reply = false;
  for (int attempt = 0;; ++attempt) {
    auto r = JsonRequest(u.target, "POST", "/v1/uploads/" + id + "/complete", "");
    if (r.ok() && r->status == 200) {
      const json o = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
      if (!o.is_object() || !o.contains("attachment")) {
        return Status(Code::kBadRequest, "unexpected complete reply: " + r->body);
      }
      return ParseAttachmentInfo(o["attachment"].dump());
    }
    if (r.ok() && r->status == 404 && lost_reply) {
      return Status(Code::kNotFound,
                    "the reply to completing upload " + id +
                        " was lost and the upload is gone: it may have completed; send the "
                        "file again (the server stores the same bytes once)");
    }
    const bool retry = r.ok() ? IsRetryableHttp(r->status) : IsTransportError(r.status());
    if (!retry || attempt >= u.options.max_retries) {
      return r.ok() ? StatusFromHttpError(r->status, r->body) : r.status();
    }
    lost_reply = lost_reply || !r.ok();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::max(backoff.NextDelayMs(), r.ok() ? RetryAfterMs(*r) : 0)));
  }
}

Result<AttachmentInfo> Run(Upload& u, int fd, const std::string& mime) {
  Sha256Stream hash;
  PARLEY_RETURN_IF_ERROR(HashFilePrefix(u.path, u.size, hash));
  u.sha256 = hash.FinishHex();

  std::optional<UploadPosition> position = Reopen(u);
  if (!position) {
    PARLEY_ASSIGN_OR_RETURN(position, Create(u, mime));
    if (!u.options.journal_dir.empty()) {
      // Without the entry a later run starts over; the upload itself is unaffected.
      SaveUploadEntry(u.options.journal_dir, u.sha256,
                      {position->id, u.target.base_url, u.conv, u.path, u.size})
          .IgnoreError();
    }
  }
  if (u.options.progress) u.options.progress(position->offset, u.size);
  Status sent = SendParts(u, fd, *position);
  if (sent.code() == Code::kNotFound && !u.options.journal_dir.empty()) {
    RemoveUploadEntry(u.options.journal_dir, u.sha256);
  }
  PARLEY_RETURN_IF_ERROR(sent);
  auto info = Complete(u, position->id);
  // Done, or refused for good (checksum_mismatch discards the upload; 404: gone).
  if (!u.options.journal_dir.empty() &&
      (info.ok() ||
       !(IsTransportError(info.status()) || info.status().code() == Code::kUnavailable))) {
    RemoveUploadEntry(u.options.journal_dir, u.sha256);
  }
  return info;
}

}  // namespace

Result<AttachmentInfo> UploadFile(const TransferTarget& target, ConvId conv,
                                  const std::string& path, const std::string& mime,
                                  const UploadOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(Code::kIOError, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(Code::kIOError, path + " is not a regular file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return InvalidArgument(path + " is empty: there is nothing to send");
  }
  Upload u{target, options, conv, path, static_cast<uint64_t>(st.st_size), ""};
  auto info = Run(u, fd, mime);
  ::close(fd);
  return info;
}

Result<AttachmentInfo> GetAttachmentInfo(const TransferTarget& target, const std::string& id) {
  if (!IsAttachmentId(id)) return InvalidArgument("'" + id + "' is not an attachment id");
  PARLEY_ASSIGN_OR_RETURN(HttpReply r,
                          JsonRequest(target, "GET", "/v1/attachments/" + id + "/info"));
  if (r.status != 200) return StatusFromHttpError(r.status, r.body);
  return ParseAttachmentInfo(r.body);
}

}  // namespace parley::client
