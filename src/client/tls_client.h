// Client-side TLS setup shared by the WebSocket connection (connection.cc, through Asio's
// ssl_stream) and the plain HTTP client (http_request.cc, OpenSSL on a socket): which
// certificates are trusted, and which name the server's certificate must carry.
//
// Verification is always on: the peer's chain must lead to a trusted CA (the system's
// default store, or only the certificates in ca_file when it is set) and the certificate
// must name the host the user typed (DNS name, or IP address for an IP literal). There is
// deliberately no "insecure" switch: a self-signed server is trusted by passing its
// certificate as the CA file.
//
// Internal to the client library (it includes OpenSSL). Thread-safety: pure functions;
// the SSL_CTX returned by SharedClientContext is shared and read-only after creation.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace parley::client {

// The process-wide client SSL_CTX for `ca_file` (empty: the system CAs), created on first
// use and kept: loading a CA bundle per connection would cost milliseconds and memory.
// The caller takes one reference (SSL_CTX_free it, or hand it to an owner that does).
// kInvalidArgument if ca_file cannot be read; kInternal if OpenSSL fails.
Result<SSL_CTX*> SharedClientContext(const std::string& ca_file);

// Per connection, before the handshake: SNI (for host names, not IP literals) and the
// name the certificate must match. kInternal if OpenSSL refuses.
Status PrepareClientSsl(SSL* ssl, const std::string& host);

// After a failed handshake: why the certificate was refused ("certificate has expired",
// "hostname mismatch", …), or "" if verification was not the reason.
std::string VerifyFailure(const SSL* ssl);

// The newest OpenSSL error on this thread as text (and clears the queue).
std::string OpenSslError();

}  // namespace parley::client
