#include "client/http_request.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "client/tls_client.h"

namespace parley::client {

namespace {

// The socket, with a TLS session over it for https. Closes both when it goes.
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  ~Channel() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);  // best effort: one close_notify, not waiting for the peer's
      SSL_free(ssl_);
    }
    ::close(fd_);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The TLS handshake; kUnavailable naming the reason when it fails.
  Status StartTls(const std::string& ca_file, const std::string& host, const std::string& where) {
    PARLEY_ASSIGN_OR_RETURN(SSL_CTX * ctx, SharedClientContext(ca_file));
    ssl_ = SSL_new(ctx);
    SSL_CTX_free(ctx);  // the SSL holds its own reference
    if (ssl_ == nullptr) return Status(Code::kInternal, "TLS: " + OpenSslError());
    PARLEY_RETURN_IF_ERROR(PrepareClientSsl(ssl_, host));
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      std::string why = VerifyFailure(ssl_);
      why = why.empty() ? "TLS handshake failed: " + OpenSslError()
                        : "certificate rejected: " + why +
                              (ca_file.empty() ? " (trusted: the system CAs)"
                                               : " (trusted: " + ca_file + ")");
      return Status(Code::kUnavailable, where + ": " + why);
    }
    return Status::Ok();
  }
  ssize_t Send(const char* data, size_t n) {
    if (ssl_ == nullptr) return ::send(fd_, data, n, MSG_NOSIGNAL);
    size_t done = 0;
    return SSL_write_ex(ssl_, data, n, &done) == 1 ? static_cast<ssize_t>(done) : -1;
  }
  ssize_t Recv(char* data, size_t n) {
    if (ssl_ == nullptr) return ::recv(fd_, data, n, 0);
    size_t done = 0;
    // A peer that closes without close_notify ends the body too (Connection: close).
    return SSL_read_ex(ssl_, data, n, &done) == 1 ? static_cast<ssize_t>(done) : -1;
  }

 private:
  int fd_;
  SSL* ssl_ = nullptr;
};

}  // namespace

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
  Channel channel(fd);
  if (spec.tls) {
    PARLEY_RETURN_IF_ERROR(channel.StartTls(spec.ca_file, spec.host, spec.host + ":" + port));
  }
  std::string req = spec.method + " " + spec.path + " HTTP/1.1\r\nHost: " + spec.host +
                    "\r\nConnection: close\r\nContent-Length: " + std::to_string(spec.body.size()) +
                    "\r\n";
  for (const auto& [name, value] : spec.headers) req += name + ": " + value + "\r\n";
  req += "\r\n" + spec.body;
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = channel.Send(req.data() + sent, req.size() - sent);
    if (n <= 0) {
      return Status(Code::kIOError, "send to " + spec.host + ":" + port + " failed");
    }
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[16384];
  for (int i = 0; i < 65536; ++i) {  // bounded: at most 1 GiB
    ssize_t n = channel.Recv(buf, sizeof(buf));
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
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
