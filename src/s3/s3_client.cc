#include "s3/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>

#include "common/ascii.h"
#include "common/files.h"
#include "s3/s3_xml.h"

namespace parley::s3 {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

std::once_flag curl_once;

std::string EnvOr(const std::string& value, const char* name) {
  if (!value.empty()) return value;
  const char* env = std::getenv(name);
  return env ? env : "";
}

Status FromS3Error(long http, std::string_view body, const std::string& what) {
  std::string code, message;
  if (auto leaves = ParseXmlLeaves(body); leaves.ok()) {
    code = FirstText(*leaves, "Error/Code");
    message = FirstText(*leaves, "Error/Message");
  }
  if (code.empty()) code = "HTTP " + std::to_string(http);
  std::string text = "S3 " + code + (message.empty() ? "" : ": " + message) + " (" + what + ")";
  if (code == "NoSuchKey" || code == "NoSuchBucket" || code == "NoSuchUpload" || http == 404) {
    return Status(Code::kNotFound, std::move(text));
  }
  if (code == "AccessDenied" || code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" ||
      http == 403) {
    return Status(Code::kPermissionDenied, std::move(text));
  }
  if (http >= 500 || code == "SlowDown") return Status(Code::kUnavailable, std::move(text));
  return Status(Code::kInternal, std::move(text));
}

}  // namespace

// A pool of easy handles: each keeps its connection alive for the next request.
struct S3Client::Pool {
  std::mutex mu;
  std::vector<CURL*> idle;
  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        curl_easy_reset(h);
        return h;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* h) {
    std::lock_guard<std::mutex> lock(mu);
    if (idle.size() < 16) {
      idle.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }
};

// One request: what to send, and what came back.
struct S3Client::Call {
  std::string method = "GET";
  std::string key;  // empty: the bucket
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
  std::string what;  // for error messages: "put a/b"
  // The response body: to `sink` when set (2xx only), else kept up to max_bytes.
  const std::function<Status(std::string_view)>* sink = nullptr;
  size_t max_bytes = 1 << 20;

  long http = 0;
  std::string response;
  std::vector<std::pair<std::string, std::string>> response_headers;  // names lower-case
  Status sink_status;
  bool too_large = false;

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : response_headers) {
      if (n == name) return v;
    }
    return "";
  }
};

namespace {

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* call = static_cast<S3Client::Call*>(user);
  const size_t bytes = size * n;
  const bool ok_status = call->http == 0 || (call->http >= 200 && call->http < 300);
  if (call->sink != nullptr && ok_status) {
    call->sink_status = (*call->sink)(std::string_view(data, bytes));
    return call->sink_status.ok() ? bytes : 0;
  }
  const size_t limit = ok_status ? call->max_bytes : kMaxErrorBody;
  if (call->response.size() + bytes > limit) {
    call->too_large = ok_status;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  call->response.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* call = static_cast<S3Client::Call*>(user);
  const size_t bytes = size * n;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    // A new response (after a 100 Continue): its status and headers replace the old.
    call->response_headers.clear();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos)
      call->http = std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  call->response_headers.emplace_back(AsciiLower(line.substr(0, colon)), std::string(value));
  return bytes;
}

}  // namespace

S3Client::S3Client(S3Config config) : config_(std::move(config)), pool_(std::make_unique<Pool>()) {}
S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  const size_t sep = config.endpoint.find("://");
  if (sep == std::string::npos) {
    return InvalidArgument("S3 endpoint '" + config.endpoint + "' is not http(s)://host[:port]");
  }
  std::string scheme = config.endpoint.substr(0, sep);
  std::string host = config.endpoint.substr(sep + 3);
  while (!host.empty() && host.back() == '/') host.pop_back();
  if ((scheme != "http" && scheme != "https") || host.empty() ||
      host.find_first_of("/?#@ ") != std::string::npos) {
    return InvalidArgument("S3 endpoint '" + config.endpoint + "' is not http(s)://host[:port]");
  }
  // Bucket names: 3-63 of a-z 0-9 . - (S3's rules, the subset every store accepts).
  const std::string& b = config.bucket;
  if (b.size() < 3 || b.size() > 63 || !std::all_of(b.begin(), b.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.';
      })) {
    return InvalidArgument("S3 bucket '" + b + "' must be 3-63 characters of a-z, 0-9, '.', '-'");
  }
  if (config.credentials.secret_key.empty() && !config.secret_key_file.empty()) {
    PARLEY_RETURN_IF_ERROR(CheckSecretFile(config.secret_key_file, "S3 secret key file"));
    std::ifstream in(config.secret_key_file);
    std::string secret;
    if (!in || !std::getline(in, secret)) {
      return InvalidArgument("cannot read the S3 secret key file " + config.secret_key_file);
    }
    while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
    config.credentials.secret_key = secret;
  }
  config.credentials.access_key = EnvOr(config.credentials.access_key, "AWS_ACCESS_KEY_ID");
  config.credentials.secret_key = EnvOr(config.credentials.secret_key, "AWS_SECRET_ACCESS_KEY");
  config.credentials.session_token = EnvOr(config.credentials.session_token, "AWS_SESSION_TOKEN");
  if (config.credentials.access_key.empty() || config.credentials.secret_key.empty()) {
    return InvalidArgument(
        "S3 credentials missing: set access_key and secret_key, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY");
  }
  auto client = std::unique_ptr<S3Client>(new S3Client(std::move(config)));
  client->scheme_ = std::move(scheme);
  client->host_ = std::move(host);
  return client;
}

std::string S3Client::Describe() const {
  return "s3://" + config_.bucket + " at " + config_.endpoint;
}

std::string S3Client::Host() const {
  return config_.path_style ? host_ : config_.bucket + "." + host_;
}

std::string S3Client::Path(const std::string& key) const {
  return config_.path_style ? "/" + config_.bucket + "/" + key : "/" + key;
}

std::string S3Client::BaseUrl() const { return scheme_ + "://" + Host(); }

namespace {

Status Perform(CURL* h, const S3Config& config, const std::string& url,
               const std::vector<std::pair<std::string, std::string>>& headers,
               const std::string& authorization, S3Client::Call& call) {
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) {
    if (AsciiLower(name) == "host") continue;  // curl sends it from the URL
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  list = curl_slist_append(list, ("Authorization: " + authorization).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  if (call.method != "PUT" && call.method != "POST") {
    list = curl_slist_append(list, "Content-Type:");
  }
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &call);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &call);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!config.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config.ca_file.c_str());
  if (call.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (call.method == "PUT" || call.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    // Never NULL: with no data libcurl would read the body from its read callback (stdin).
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body.empty() ? "" : call.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
    if (call.method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (call.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  const CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(list);
  if (!call.sink_status.ok()) return call.sink_status;
  if (call.too_large) {
    return Status(Code::kCorruption, "S3 object over the limit of " +
                                         std::to_string(call.max_bytes) + " bytes (" + call.what +
                                         ")");
  }
  if (rc != CURLE_OK) {
    return Status(Code::kUnavailable, std::string("S3 unreachable: ") + curl_easy_strerror(rc) +
                                          " (" + call.what + ")");
  }
  long http = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
  call.http = http;
  if (http < 200 || http >= 300) return FromS3Error(http, call.response, call.what);
  return Status::Ok();
}

}  // namespace

Status S3Client::Exec(const std::string& path, Call& call) {
  Request r;
  r.method = call.method;
  r.path = path;
  r.query = call.query;
  r.headers = call.headers;
  r.headers.emplace_back("host", Host());
  r.payload_sha256 = call.body.empty() ? std::string(kEmptySha256) : Sha256Hex(call.body);
  Scope scope;
  scope.region = config_.region;
  scope.amz_date = AmzDate(static_cast<int64_t>(std::time(nullptr)));
  const std::string authorization = SignHeaders(&r, config_.credentials, scope);
  std::string url = BaseUrl() + UriEncode(path, true);
  if (!r.query.empty()) url += "?" + CanonicalQuery(r.query);
  CURL* h = pool_->Take();
  if (h == nullptr) return Status(Code::kInternal, "curl_easy_init failed");
  Status st = Perform(h, config_, url, r.headers, authorization, call);
  pool_->Give(h);
  return st;
}

namespace {

std::string RangeHeader(ByteRange range) {
  std::string v = "bytes=" + std::to_string(range.offset) + "-";
  if (range.length > 0) v += std::to_string(range.offset + range.length - 1);
  return v;
}

}  // namespace

Status S3Client::CreateBucket() {
  Call call;
  call.method = "PUT";
  call.what = "create bucket " + config_.bucket;
  const std::string path = config_.path_style ? "/" + config_.bucket : "/";
  Status st = Exec(path, call);
  if (!st.ok() && st.message().find("BucketAlreadyOwnedByYou") != std::string::npos) {
    return Status::Ok();
  }
  return st;
}

Status S3Client::Put(const std::string& key, std::string_view body, std::string_view content_type) {
  Call call;
  call.method = "PUT";
  call.body = body;
  call.headers = {{"content-type", std::string(content_type)}};
  call.what = "put " + key;
  return Exec(Path(key), call);
}

Result<std::string> S3Client::Get(const std::string& key, ByteRange range, size_t max_bytes) {
  Call call;
  call.max_bytes = max_bytes;
  if (!range.whole()) call.headers = {{"range", RangeHeader(range)}};
  call.what = "get " + key;
  PARLEY_RETURN_IF_ERROR(Exec(Path(key), call));
  return std::move(call.response);
}

Status S3Client::Read(const std::string& key, ByteRange range,
                      const std::function<Status(std::string_view)>& sink) {
  Call call;
  call.sink = &sink;
  if (!range.whole()) call.headers = {{"range", RangeHeader(range)}};
  call.what = "get " + key;
  return Exec(Path(key), call);
}

Result<std::optional<ObjectInfo>> S3Client::Head(const std::string& key) {
  Call call;
  call.method = "HEAD";
  call.what = "head " + key;
  Status st = Exec(Path(key), call);
  if (st.code() == Code::kNotFound) return std::optional<ObjectInfo>();
  PARLEY_RETURN_IF_ERROR(st);
  ObjectInfo info;
  info.size = std::strtoull(call.Header("content-length").c_str(), nullptr, 10);
  info.etag = call.Header("etag");
  info.content_type = call.Header("content-type");
  return std::optional<ObjectInfo>(std::move(info));
}

Status S3Client::Delete(const std::string& key) {
  Call call;
  call.method = "DELETE";
  call.what = "delete " + key;
  Status st = Exec(Path(key), call);
  return st.code() == Code::kNotFound ? Status::Ok() : st;
}

Result<ListPage> S3Client::List(const std::string& prefix, const std::string& continuation,
                                int max_keys) {
  Call call;
  call.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(max_keys)}};
  if (!continuation.empty()) call.query.emplace_back("continuation-token", continuation);
  call.what = "list " + prefix;
  const std::string path = config_.path_style ? "/" + config_.bucket : "/";
  PARLEY_RETURN_IF_ERROR(Exec(path, call));
  PARLEY_ASSIGN_OR_RETURN(auto leaves, ParseXmlLeaves(call.response));
  ListPage page;
  std::string key;
  for (const XmlLeaf& leaf : leaves) {
    if (leaf.path == "ListBucketResult/Contents/Key") key = leaf.text;
    if (leaf.path == "ListBucketResult/Contents/Size") {
      page.objects.emplace_back(key, std::strtoull(leaf.text.c_str(), nullptr, 10));
    }
  }
  if (FirstText(leaves, "ListBucketResult/IsTruncated") == "true") {
    page.next = FirstText(leaves, "ListBucketResult/NextContinuationToken");
    if (page.next.empty()) return Status(Code::kCorruption, "S3 listing truncated without a token");
  }
  return page;
}

Result<std::string> S3Client::CreateMultipart(const std::string& key,
                                              std::string_view content_type) {
  Call call;
  call.method = "POST";
  call.query = {{"uploads", ""}};
  call.headers = {{"content-type", std::string(content_type)}};
  call.what = "start multipart " + key;
  PARLEY_RETURN_IF_ERROR(Exec(Path(key), call));
  PARLEY_ASSIGN_OR_RETURN(auto leaves, ParseXmlLeaves(call.response));
  std::string id = FirstText(leaves, "InitiateMultipartUploadResult/UploadId");
  if (id.empty()) return Status(Code::kCorruption, "S3 multipart start without an UploadId");
  return id;
}

Result<std::string> S3Client::UploadPart(const std::string& key, const std::string& upload_id,
                                         int part_number, std::string_view body) {
  if (part_number < 1 || part_number > 10000) {
    return InvalidArgument("S3 part numbers are 1 to 10000");
  }
  Call call;
  call.method = "PUT";
  call.body = body;
  call.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  call.what = "upload part " + std::to_string(part_number) + " of " + key;
  PARLEY_RETURN_IF_ERROR(Exec(Path(key), call));
  std::string etag = call.Header("etag");
  if (etag.empty()) return Status(Code::kCorruption, "S3 part stored without an ETag");
  return etag;
}

Status S3Client::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                   const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
           "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  Call call;
  call.method = "POST";
  call.body = xml;
  call.query = {{"uploadId", upload_id}};
  call.headers = {{"content-type", "application/xml"}};
  call.what = "complete multipart " + key;
  PARLEY_RETURN_IF_ERROR(Exec(Path(key), call));
  // S3 may answer 200 and put the error in the body (a failure after it started answering).
  if (call.response.find("<Error>") != std::string::npos) {
    return FromS3Error(500, call.response, call.what);
  }
  return Status::Ok();
}

Status S3Client::AbortMultipart(const std::string& key, const std::string& upload_id) {
  Call call;
  call.method = "DELETE";
  call.query = {{"uploadId", upload_id}};
  call.what = "abort multipart " + key;
  Status st = Exec(Path(key), call);
  return st.code() == Code::kNotFound ? Status::Ok() : st;
}

std::string S3Client::PresignGet(const std::string& key, std::chrono::seconds ttl,
                                 std::string_view content_type,
                                 std::string_view disposition) const {
  Request r;
  r.path = Path(key);
  r.headers = {{"host", Host()}};
  if (!content_type.empty()) r.query.emplace_back("response-content-type", content_type);
  if (!disposition.empty()) r.query.emplace_back("response-content-disposition", disposition);
  Scope scope;
  scope.region = config_.region;
  scope.amz_date = AmzDate(static_cast<int64_t>(std::time(nullptr)));
  const std::string query = PresignQuery(&r, config_.credentials, scope, ttl.count());
  return BaseUrl() + UriEncode(r.path, true) + "?" + query;
}

}  // namespace parley::s3
