// Downloads (attachment_transfer.h, DownloadAttachment): GET into `<out>.part`, continued
// with Range after a cut, checked against the ETag, renamed into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "client/attachment_transfer.h"
#include "client/backoff.h"
#include "client/connection.h"
#include "client/sha256_stream.h"
#include "client/transfer_http.h"
#include "client/transfer_target.h"
#include "common/files.h"

namespace parley::client {
namespace {

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The hex digest in an ETag of the form "<64 hex>" (W/ and quotes removed), "" otherwise:
// a thumbnail's ETag ("<sha>-thumb") names no digest of its own bytes.
std::string DigestOfEtag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
  if (etag.size() == 66 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, 64);
  }
  if (etag.size() != 64) return "";
  for (char& c : etag) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return etag;
}

class Download {
 public:
  Download(const TransferTarget& target, const std::string& id, const std::string& out,
           const DownloadOptions& options)
      : target_(target),
        options_(options),
        id_(id),
        url_(target.base_url + "/v1/attachments/" + id + (options.thumbnail ? "/thumbnail" : "")),
        out_(out),
        part_(out + ".part") {}
  ~Download() {
    if (fd_ >= 0) ::close(fd_);
  }

  Result<DownloadResult> Run();

 private:
  Status OpenPart();
  // One GET of `url` for the bytes after have_, streamed into the .part file.
  Result<HttpReply> Fetch(const std::string& url, bool to_parleyd);
  // The API's answer, or the object store's when the API redirects there.
  Result<HttpReply> FetchFollowing();
  bool Begin(const HttpReply& head);
  bool Write(std::string_view data);
  Status Truncate();
  Result<DownloadResult> Finish();
  Status Fail(Status status);

  const TransferTarget& target_;
  const DownloadOptions& options_;
  const std::string id_;
  const std::string url_;
  const std::string out_;
  const std::string part_;
  int fd_ = -1;
  uint64_t have_ = 0;   // bytes in the .part file, all hashed into hash_
  int64_t total_ = -1;  // the whole file's size, once a reply said it
  Sha256Stream hash_;
  std::string etag_;
  std::string content_type_;
  bool started_ = false;  // the current reply's body has begun
  Status sink_status_;
  bool resumed_ = false;
};

Status Download::OpenPart() {
  fd_ = ::open(part_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kPrivateFileMode);
  if (fd_ < 0) return Status(Code::kIOError, "cannot open " + part_ + ": " + std::strerror(errno));
  if (!options_.resume) return Truncate();
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Status(Code::kIOError, "cannot stat " + part_);
  have_ = static_cast<uint64_t>(st.st_size);
  resumed_ = have_ > 0;
  return HashFilePrefix(part_, have_, hash_);
}

Status Download::Truncate() {
  if (::ftruncate(fd_, 0) != 0) {
    return Status(Code::kIOError, "cannot truncate " + part_ + ": " + std::strerror(errno));
  }
  have_ = 0;
  hash_.Reset();
  return Status::Ok();
}

bool Download::Begin(const HttpReply& head) {
  if (head.status == 206) {
    auto range = ParseContentRange(head.Header("content-range"));
    if (!range.ok() || range->start != static_cast<int64_t>(have_)) {
      sink_status_ = Status(Code::kBadRequest,
                            "the server sent another range (" + head.Header("content-range") +
                                ") than asked for (from " + std::to_string(have_) + ")");
      return false;
    }
    total_ = range->size;
  } else {  // 200: the whole file, whatever was asked
    sink_status_ = Truncate();
    if (!sink_status_.ok()) return false;
    total_ = ParseDecimal(head.Header("content-length"));
  }
  etag_ = head.Header("etag");
  content_type_ = head.Header("content-type");
  return true;
}

bool Download::Write(std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(have_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sink_status_ = Status(Code::kIOError, "cannot write " + part_ + ": " + std::strerror(errno));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  hash_.Update(data);
  have_ += data.size();
  if (options_.progress) {
    options_.progress(have_, total_ >= 0 ? static_cast<uint64_t>(total_) : have_);
  }
  return true;
}

Result<HttpReply> Download::Fetch(const std::string& url, bool to_parleyd) {
  HttpCall call;
  call.url = url;
  // The token goes to parleyd only, never to the object store a presigned URL names; and
  // the CA file given for parleyd is not the one to trust for another host.
  if (to_parleyd) {
    call.headers.push_back(AuthHeader(target_));
    call.ca_file = target_.ca_file;
  }
  if (have_ > 0) call.headers.push_back("Range: bytes=" + std::to_string(have_) + "-");
  started_ = false;
  sink_status_ = Status::Ok();
  call.sink = [this](const HttpReply& head, std::string_view data) {
    if (!started_) {
      if (!Begin(head)) return false;
      started_ = true;
    }
    return Write(data);
  };
  auto reply = Perform(call, &sink_status_);
  // A 2xx with an empty body never reached the sink.
  if (reply.ok() && reply->status >= 200 && reply->status < 300 && !started_) {
    if (!Begin(*reply)) return sink_status_;
  }
  return reply;
}

Result<HttpReply> Download::FetchFollowing() {
  PARLEY_ASSIGN_OR_RETURN(HttpReply reply, Fetch(url_, /*to_parleyd=*/true));
  if (!IsRedirect(reply.status)) return reply;
  std::string location = reply.Header("location");
  if (location.empty()) return Status(Code::kBadRequest, "a redirect without a Location");
  if (location.front() == '/') location = target_.base_url + location;
  // A presigned URL needs no token, so none is sent, wherever it points.
  PARLEY_ASSIGN_OR_RETURN(HttpReply object, Fetch(location, /*to_parleyd=*/false));
  if (IsRedirect(object.status)) {
    return Status(Code::kBadRequest,
                  "the object store redirected again (to " + object.Header("location") + ")");
  }
  return object;
}

Result<DownloadResult> Download::Finish() {
  const std::string digest = hash_.FinishHex();
  const std::string expected = DigestOfEtag(etag_);
  if (!expected.empty() && expected != digest) {
    ::unlink(part_.c_str());
    return Status(Code::kCorruption, "the downloaded bytes have SHA-256 " + digest +
                                         ", the server announced " + expected +
                                         "; the partial file was removed, try again");
  }
  if (::fsync(fd_) != 0) {
    return Status(Code::kIOError, "cannot sync " + part_ + ": " + std::strerror(errno));
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(part_.c_str(), out_.c_str()) != 0) {
    return Status(Code::kIOError,
                  "cannot rename " + part_ + " to " + out_ + ": " + std::strerror(errno));
  }
  const std::string dir = std::filesystem::path(out_).parent_path().string();
  FsyncPath(dir.empty() ? "." : dir, /*directory=*/true).IgnoreError();  // the file is whole
  DownloadResult result;
  result.bytes = have_;
  result.sha256 = digest;
  result.verified = !expected.empty();
  result.resumed = resumed_;
  result.content_type = content_type_;
  return result;
}

Status Download::Fail(Status status) {
  if (fd_ >= 0 && have_ == 0) ::unlink(part_.c_str());  // nothing worth resuming
  return status;
}

Result<DownloadResult> Download::Run() {
  if (Status st = OpenPart(); !st.ok()) return Fail(st);
  Backoff backoff(500, 10000);
  int failures = 0;  // attempts in a row that moved no byte
  bool restarted = false;
  for (;;) {
    const uint64_t before = have_;
    auto reply = FetchFollowing();
    Status last;
    if (reply.ok() && reply->status >= 200 && reply->status < 300) {
      if (total_ < 0 || have_ == static_cast<uint64_t>(total_)) return Finish();
      last = TransportError("the reply ended after " + std::to_string(have_) + " of " +
                            std::to_string(total_) + " bytes");
    } else if (reply.ok() && reply->status == 416 && have_ > 0 && !restarted) {
      // The .part file is as long as the file or longer: complete (the last run died
      // before the rename), or of other bytes. Check it against the server's digest.
      auto range = ParseContentRange(reply->Header("content-range"));
      if (range.ok() && range->size == static_cast<int64_t>(have_) && !options_.thumbnail) {
        auto info = GetAttachmentInfo(target_, id_);
        if (!info.ok()) return Fail(info.status());
        etag_ = "\"" + info->sha256 + "\"";
        return Finish();
      }
      if (Status st = Truncate(); !st.ok()) return Fail(st);
      restarted = true;
      continue;
    } else if (!reply.ok()) {
      if (!IsTransportError(reply.status())) return Fail(reply.status());  // disk, bad range
      last = reply.status();
    } else if (IsRetryableHttp(reply->status)) {
      last = StatusFromHttpError(reply->status, reply->body);
    } else {
      return Fail(StatusFromHttpError(reply->status, reply->body));
    }
    if (have_ > before) {
      failures = 0;
      backoff.Reset();
    }
    if (++failures > options_.max_retries) {
      return Fail(Status(last.code(), last.message() + " (gave up after " +
                                          std::to_string(failures) + " attempts)"));
    }
    int64_t delay = backoff.NextDelayMs();
    if (reply.ok()) delay = std::max(delay, RetryAfterMs(*reply));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
}

}  // namespace

Result<DownloadResult> DownloadAttachment(const TransferTarget& target, const std::string& id,
                                          const std::string& out_path,
                                          const DownloadOptions& options) {
  if (!IsAttachmentId(id)) return InvalidArgument("'" + id + "' is not an attachment id");
  if (out_path.empty()) return InvalidArgument("no output file given");
  Download download(target, id, out_path, options);
  return download.Run();
}

}  // namespace parley::client
