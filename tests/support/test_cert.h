// Self-signed certificates for TLS tests, made in memory with the OpenSSL API (no openssl
// binary needed): an EC P-256 key and a certificate valid from an hour ago for 30 days,
// naming the given DNS names and IP addresses in subjectAltName. The certificate is its
// own CA, so a client trusts it by using its PEM as the CA file.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace parley::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

// kInternal if OpenSSL fails.
Result<TestCert> MakeSelfSignedCert(const std::vector<std::string>& dns_names,
                                    const std::vector<std::string>& ip_addresses);

// Writes `cert` as DIR/NAME.crt and DIR/NAME.key (mode 0600); returns the .crt path.
Result<std::string> WriteTestCert(const TestCert& cert, const std::string& dir,
                                  const std::string& name);

}  // namespace parley::testing
