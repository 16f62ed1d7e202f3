// S3Client: the S3 REST calls parleyd needs — objects (put, ranged get, head, delete,
// list), multipart uploads, presigned GETs and bucket creation — signed with our SigV4
// (sigv4.h) and sent with libcurl (one connection pool per client, keep-alive).
//
// Addressing: path style (http://host:port/bucket/key: radosgw, MinIO, most self-hosted
// stores) or virtual-host style (https://bucket.s3.region.amazonaws.com/key: AWS's
// default). Credentials come from the config or, when it leaves them empty, from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
//
// Errors: the S3 error code is kept in the message ("S3 SignatureDoesNotMatch: ..."), and
// mapped to a Status code: NoSuchKey/NoSuchBucket/NoSuchUpload -> kNotFound,
// AccessDenied/SignatureDoesNotMatch/InvalidAccessKeyId -> kPermissionDenied, a 5xx,
// SlowDown or a transport failure -> kUnavailable, anything else -> kInternal.
//
// Thread-safety: all methods are thread-safe (each call takes a curl handle from the pool).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "s3/sigv4.h"

namespace parley::s3 {

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:7480", "https://s3.eu-west-1.amazonaws.com"
  std::string region = "us-east-1";
  std::string bucket;
  bool path_style = true;
  Credentials credentials;  // empty: from the environment (AWS_ACCESS_KEY_ID, ...)
  // The secret key in a file (mode 0600 or stricter) instead of credentials.secret_key.
  std::string secret_key_file;
  std::string ca_file;         // https: PEM file of CAs to trust instead of the system's
  int64_t timeout_ms = 60000;  // a whole request (transfers of large parts included)
  int64_t connect_timeout_ms = 5000;
};

struct ObjectInfo {
  uint64_t size = 0;
  std::string etag;
  std::string content_type;
};

struct ListPage {
  std::vector<std::pair<std::string, uint64_t>> objects;  // key, size; in key order
  std::string next;  // continuation token; empty: the last page
};

// A byte range of an object: `length` 0 = to the end.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool whole() const { return offset == 0 && length == 0; }
};

class S3Client {
 public:
  // kInvalidArgument for an unusable endpoint, bucket or credentials.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config);
  ~S3Client();

  std::string Describe() const;  // "s3://bucket at http://host:port"

  Status CreateBucket();  // succeeds if it already exists and is ours
  Status Put(const std::string& key, std::string_view body,
             std::string_view content_type = "application/octet-stream");
  // The object's bytes (or the range's), refused (kCorruption) over `max_bytes`.
  Result<std::string> Get(const std::string& key, ByteRange range, size_t max_bytes);
  // Streams the object (or range) to `sink` in pieces as they arrive; a sink error stops it.
  Status Read(const std::string& key, ByteRange range,
              const std::function<Status(std::string_view)>& sink);
  // nullopt if there is no such object.
  Result<std::optional<ObjectInfo>> Head(const std::string& key);
  Status Delete(const std::string& key);  // ok if it did not exist
  Result<ListPage> List(const std::string& prefix, const std::string& continuation = "",
                        int max_keys = 1000);

  Result<std::string> CreateMultipart(const std::string& key,
                                      std::string_view content_type = "application/octet-stream");
  // Part numbers 1..10000; every part but the last >= 5 MiB. Returns its ETag.
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, std::string_view body);
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<std::string>& etags);  // parts 1..N in order
  Status AbortMultipart(const std::string& key, const std::string& upload_id);

  // A URL anyone may GET for `ttl` (1 s .. 7 days). `content_type` / `disposition`
  // (optional) make S3 answer with those headers (response-content-type, ...).
  std::string PresignGet(const std::string& key, std::chrono::seconds ttl,
                         std::string_view content_type = "",
                         std::string_view disposition = "") const;

  struct Call;  // one request (s3_client.cc)

 private:
  explicit S3Client(S3Config config);
  // URL pieces of `key` (empty: the bucket itself).
  std::string Host() const;
  std::string Path(const std::string& key) const;
  std::string BaseUrl() const;  // scheme://host[:port]
  // Signs `call` for `path` and sends it with a pooled handle; the response is in `call`.
  Status Exec(const std::string& path, Call& call);

  S3Config config_;
  std::string scheme_, host_;  // host with the port, as in the Host header
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace parley::s3
