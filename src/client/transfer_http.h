// The HTTP plumbing of attachment transfers (docs/protocol.md §7) over libcurl: one
// blocking request with bounded waits, the server's JSON error bodies mapped to a Status,
// and the small header grammars (Content-Range, the http(s) base of a ws(s) URL). Kept
// apart from attachment_transfer.h so the parsers can be tested without a server and no
// public header includes curl.
//
// Thread-safety: Perform may run on several threads at once (one curl handle per call);
// the rest are pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace parley::client {

// The reply of one request. Header names are lower-case; a repeated header keeps the last.
struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;  // error bodies and small replies; streamed 2xx bodies go to the sink

  // The header's value, "" if absent.
  std::string Header(const std::string& lower_name) const;
};

struct HttpCall {
  std::string method = "GET";  // GET, HEAD, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // the request body (POST, PATCH)
  std::string ca_file;               // "": the system's CAs
  // 0: none. JSON calls set one; transfers rely on the low-speed limit instead, since a
  // large file may take longer than any fixed bound.
  // Default: 0.
  long total_timeout_s = 0;
  // Receives the body of a 2xx reply as it arrives (with the status and headers already in
  // `head`); returning false aborts the transfer. Unset: the body is kept in reply.body.
  std::function<bool(const HttpReply& head, std::string_view data)> sink;
  // Called as bytes move: (sent of the request body, received of the response body).
  std::function<void(uint64_t sent, uint64_t received)> progress;
};

// Runs the call, never following redirects. Transport failures (cannot connect, TLS,
// timeouts, a connection cut mid-body) are TransportError (IsTransportError true); an
// abort by the sink is kInternal unless `sink_status` (if given) holds the sink's reason.
// An HTTP error status is NOT an error here: callers look at reply.status.
Result<HttpReply> Perform(const HttpCall& call, Status* sink_status = nullptr);

// The Status for a non-2xx reply from parleyd: the `error` of its JSON body mapped to a
// code (quota_exceeded -> kResourceExhausted, checksum_mismatch -> kInvalidArgument, …),
// falling back on the HTTP status when the body is not ours (a proxy's page). The message
// keeps the server's message, its error name and the request id.
Status StatusFromHttpError(int http_status, std::string_view body);
// The code alone, for a wire `error` name ("" or unknown: from the HTTP status).
Code CodeForHttpError(int http_status, std::string_view error);

// True for replies worth retrying after a pause: 5xx and 429.
bool IsRetryableHttp(int http_status);

// "bytes START-END/SIZE" (SIZE may be "*"), or "bytes */SIZE" (a 416's): unknown parts -1.
struct ContentRange {
  int64_t start = -1;
  int64_t end = -1;  // inclusive
  int64_t size = -1;
};
Result<ContentRange> ParseContentRange(std::string_view value);

// "http://HOST:PORT" for "ws://HOST:PORT/ws", "https://…" for wss:// (the HTTP endpoints
// share parleyd's port). kInvalidArgument for a malformed URL.
Result<std::string> HttpBaseOf(std::string_view server_url);

// A strict decimal (no sign, no spaces) or -1.
int64_t ParseDecimal(std::string_view s);

}  // namespace parley::client
