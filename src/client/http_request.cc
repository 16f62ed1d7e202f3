#include "client/http_request.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace parley::client {

Result<HttpResponse> HttpRequest(const HttpRequestSpec& spec) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(spec.port);
  if (getaddrinfo(spec.host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Status(Code::kUnavailable, "cannot resolve " + spec.host);
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{spec.timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return Status(Code::kUnavailable, "cannot connect to " + spec.host + ":" + port);
  std::string req = spec.method + " " + spec.path + " HTTP/1.1\r\nHost: " + spec.host +
                    "\r\nConnection: close\r\nContent-Length: " + std::to_string(spec.body.size()) +
                    "\r\n";
  for (const auto& [name, value] : spec.headers) req += name + ": " + value + "\r\n";
  req += "\r\n" + spec.body;
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return Status(Code::kIOError, "send to " + spec.host + ":" + port + " failed");
    }
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[16384];
  for (int i = 0; i < 65536; ++i) {  // bounded: at most 1 GiB
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.size() < 12) {
    return Status(Code::kIOError, "no HTTP response from " + spec.host + ":" + port);
  }
  HttpResponse out;
  out.status = std::atoi(resp.c_str() + 9);
  const size_t body = resp.find("\r\n\r\n");
  if (body != std::string::npos) out.body = resp.substr(body + 4);
  return out;
}

}  // namespace parley::client
