#include "client/transfer_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "client/connection.h"
#include "client/url.h"
#include "common/ascii.h"

namespace parley::client {
namespace {

// Bounds on every transfer: a server that accepts no connection within this is down, and
// one that moves no byte for a minute is stuck (a slow but live link keeps going).
constexpr long kConnectTimeoutS = 10;
constexpr long kLowSpeedBytesPerS = 1;
constexpr long kLowSpeedWindowS = 60;
// Error bodies are a few hundred bytes; a larger one is not ours and need not be kept whole.
constexpr size_t kMaxKeptBody = 64 * 1024;

std::once_flag curl_once;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Transfer {
  const HttpCall* call;
  CURL* handle;
  HttpReply reply;
  bool sink_failed = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response (after a 100 Continue): forget the interim one's headers.
    t->reply.headers.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->reply.headers[AsciiLower(Trim(line.substr(0, colon)))] =
        std::string(Trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->reply.status == 0) {
    long code = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
    t->reply.status = static_cast<int>(code);
  }
  const bool success = t->reply.status >= 200 && t->reply.status < 300;
  if (success && t->call->sink) {
    if (!t->call->sink(t->reply, std::string_view(data, len))) {
      t->sink_failed = true;
      return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
    return len;
  }
  if (t->reply.body.size() < kMaxKeptBody) {
    t->reply.body.append(data, std::min(len, kMaxKeptBody - t->reply.body.size()));
  }
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t received, curl_off_t, curl_off_t sent) {
  auto* t = static_cast<Transfer*>(user);
  t->call->progress(static_cast<uint64_t>(sent), static_cast<uint64_t>(received));
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void SetMethod(CURL* h, const HttpCall& call) {
  if (call.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    return;
  }
  if (call.method == "GET") return;
  if (call.method == "POST" || call.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    // Never NULL: with no data libcurl would read the body from its read callback (stdin).
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body.empty() ? "" : call.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
  if (call.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
}

}  // namespace

std::string HttpReply::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Result<HttpReply> Perform(const HttpCall& call, Status* sink_status) {
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle) return Internal("curl_easy_init failed");
  CURL* h = handle.get();
  curl_slist* raw_list = nullptr;
  for (const auto& header : call.headers) raw_list = curl_slist_append(raw_list, header.c_str());
  // No 1-second wait for "100 Continue" before each part: the server takes the body anyway.
  raw_list = curl_slist_append(raw_list, "Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> list(raw_list);

  Transfer t{&call, h, {}, false};
  curl_easy_setopt(h, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are the caller's (no token leak)
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerS);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kLowSpeedWindowS);
  if (call.total_timeout_s > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT, call.total_timeout_s);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (call.progress) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  }
  if (!call.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, call.ca_file.c_str());
  SetMethod(h, call);

  const CURLcode rc = curl_easy_perform(h);
  if (t.sink_failed) {
    if (sink_status && !sink_status->ok()) return *sink_status;
    return Internal("the download was aborted while writing it");
  }
  if (rc != CURLE_OK) {
    return TransportError(std::string(curl_easy_strerror(rc)) + " (" + call.method + " " +
                          call.url.substr(0, call.url.find('?')) + ")");
  }
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  t.reply.status = static_cast<int>(code);
  return std::move(t.reply);
}

Code CodeForHttpError(int http_status, std::string_view error) {
  static const std::pair<std::string_view, Code> kByName[] = {
      {"bad_request", Code::kBadRequest},
      {"invalid_argument", Code::kInvalidArgument},
      {"checksum_mismatch", Code::kInvalidArgument},
      {"unauthenticated", Code::kUnauthenticated},
      {"not_member", Code::kNotMember},
      {"permission_denied", Code::kPermissionDenied},
      {"not_found", Code::kNotFound},
      {"offset_mismatch", Code::kFailedPrecondition},
      {"too_large", Code::kTooLarge},
      {"range_not_satisfiable", Code::kInvalidArgument},
      {"rate_limited", Code::kRateLimited},
      {"unavailable", Code::kUnavailable},
      {"quota_exceeded", Code::kResourceExhausted},
  };
  for (const auto& [name, code] : kByName) {
    if (name == error) return code;
  }
  switch (http_status) {
    case 400:
    case 405:
      return Code::kBadRequest;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kFailedPrecondition;
    case 413:
      return Code::kTooLarge;
    case 416:
      return Code::kInvalidArgument;
    case 429:
      return Code::kRateLimited;
    case 507:
      return Code::kResourceExhausted;
    default:
      return http_status >= 500 ? Code::kUnavailable : Code::kInternal;
  }
}

Status StatusFromHttpError(int http_status, std::string_view body) {
  std::string error, message, request_id;
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    if (json.contains("error") && json["error"].is_string()) error = json["error"];
    if (json.contains("message") && json["message"].is_string()) message = json["message"];
    if (json.contains("request_id") && json["request_id"].is_string()) {
      request_id = json["request_id"];
    }
  }
  const Code code = CodeForHttpError(http_status, error);
  std::string text = message.empty() ? "HTTP " + std::to_string(http_status) : message;
  // The wire name says more than the code when they differ (quota_exceeded, checksum_mismatch).
  std::string detail;
  if (!error.empty() && error != CodeName(code)) detail = error;
  if (message.empty() && error.empty()) detail = "not a Parley error reply";
  if (!request_id.empty()) detail += (detail.empty() ? "" : ", ") + ("request " + request_id);
  if (!detail.empty()) text += " (" + detail + ")";
  return Status(code, std::move(text));
}

bool IsRetryableHttp(int http_status) { return http_status >= 500 || http_status == 429; }

int64_t ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return -1;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return -1;
  return v;
}

Result<ContentRange> ParseContentRange(std::string_view value) {
  const Status bad = InvalidArgument("malformed Content-Range '" + std::string(value) + "'");
  value = Trim(value);
  if (value.substr(0, 6) != "bytes ") return bad;
  value.remove_prefix(6);
  const size_t slash = value.find('/');
  if (slash == std::string_view::npos) return bad;
  ContentRange r;
  const std::string_view range = value.substr(0, slash), size = value.substr(slash + 1);
  if (size != "*") {
    r.size = ParseDecimal(size);
    if (r.size < 0) return bad;
  }
  if (range == "*") {
    if (r.size < 0) return bad;  // "bytes */*" says nothing
    return r;
  }
  const size_t dash = range.find('-');
  if (dash == std::string_view::npos) return bad;
  r.start = ParseDecimal(range.substr(0, dash));
  r.end = ParseDecimal(range.substr(dash + 1));
  if (r.start < 0 || r.end < r.start || (r.size >= 0 && r.end >= r.size)) return bad;
  return r;
}

Result<std::string> HttpBaseOf(std::string_view server_url) {
  PARLEY_ASSIGN_OR_RETURN(Url url, ParseHttpUrl(server_url));
  return std::string(url.tls ? "https://" : "http://") + url.HostHeader();
}

}  // namespace parley::client
