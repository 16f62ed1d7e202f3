#include "client/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

namespace parley::client {

namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Result<SSL_CTX*> NewContext(const std::string& ca_file) {
  if (!ca_file.empty() && !std::ifstream(ca_file)) {
    return Status(Code::kInvalidArgument,
                  "cannot read CA file " + ca_file + ": " + std::strerror(errno));
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status(Code::kInternal, "TLS: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Idle connections (the benchmark keeps thousands) should not hold 2 x 16 KiB buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                     : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    std::string why = OpenSslError();
    SSL_CTX_free(ctx);
    if (ca_file.empty()) return Status(Code::kInternal, "TLS: cannot load the system CAs: " + why);
    return Status(Code::kInvalidArgument,
                  "no usable PEM certificate in CA file " + ca_file + " (" + why + ")");
  }
  return ctx;
}

}  // namespace

std::string OpenSslError() {
  unsigned long last = 0;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) last = e;
  if (last == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof(buf));
  return buf;
}

Result<SSL_CTX*> SharedClientContext(const std::string& ca_file) {
  static std::mutex mu;
  static std::map<std::string, SSL_CTX*>* contexts = new std::map<std::string, SSL_CTX*>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = contexts->find(ca_file);
  if (it == contexts->end()) {
    // A failure is not cached: the file may appear later (the CLI runs once anyway).
    PARLEY_ASSIGN_OR_RETURN(SSL_CTX * ctx, NewContext(ca_file));
    it = contexts->emplace(ca_file, ctx).first;
  }
  SSL_CTX_up_ref(it->second);
  return it->second;
}

Status PrepareClientSsl(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (IsIpLiteral(host)) {
    // RFC 6066: no IP literals in SNI; the certificate must list the address itself.
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      return Status(Code::kInternal, "TLS: " + OpenSslError());
    }
    return Status::Ok();
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || SSL_set1_host(ssl, host.c_str()) != 1) {
    return Status(Code::kInternal, "TLS: " + OpenSslError());
  }
  return Status::Ok();
}

std::string VerifyFailure(const SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  return X509_verify_cert_error_string(result);
}

}  // namespace parley::client
