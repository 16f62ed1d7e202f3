// A minimal blocking HTTP/1.1 client for parleyd's plain endpoints (/metrics, /admin/…):
// one request per connection ("Connection: close"), the whole response read into memory.
// Not for the open internet: no TLS, no chunked encoding (parleyd never sends it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace parley::client {

struct HttpResponse {
  int status = 0;
  std::string body;
};

struct HttpRequestSpec {
  std::string host = "127.0.0.1";
  uint16_t port = 7800;
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int timeout_s = 10;  // for connecting and for each read; backups may need more
};

// kUnavailable if the server cannot be reached; kIOError for a broken response.
Result<HttpResponse> HttpRequest(const HttpRequestSpec& spec);

}  // namespace parley::client
