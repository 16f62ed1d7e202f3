// A minimal blocking HTTP/1.1 client for parleyd's plain endpoints (/metrics, /admin/…):
// one request per connection ("Connection: close"), the whole response read into memory
// (Beast's parser: Content-Length, chunked, or until the server closes). https (tls =
// true) verifies the server's certificate and name like wss:// does (tls_client.h).
//
// Thread-safety: HttpRequest may be called from any thread; it blocks the caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace parley::client {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent

  // The first header named `name` (case-insensitive), empty if none.
  std::string Header(std::string_view name) const;
};

struct HttpRequestSpec {
  std::string host = "127.0.0.1";
  uint16_t port = 7800;
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int timeout_s = 10;   // for connecting, the TLS handshake, sending, and the whole response
  bool tls = false;     // https
  std::string ca_file;  // https: CAs to trust instead of the system's (empty: system)
};

// kUnavailable if the server cannot be reached or its certificate is refused; kIOError
// for a broken response.
Result<HttpResponse> HttpRequest(const HttpRequestSpec& spec);

}  // namespace parley::client
