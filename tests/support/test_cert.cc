#include "tests/support/test_cert.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>

namespace parley::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

Status Fail(const char* what) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  return Status(Code::kInternal, std::string(what) + ": " + buf);
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// Adds one v3 extension in openssl.cnf syntax ("critical,CA:TRUE").
bool AddExt(X509* x, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(x, ext.get(), -1) == 1;
}

}  // namespace

Result<TestCert> MakeSelfSignedCert(const std::vector<std::string>& dns_names,
                                    const std::vector<std::string>& ip_addresses) {
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return Fail("EVP_EC_gen");
  Ptr<X509> x(X509_new());
  if (!x) return Fail("X509_new");
  uint32_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial));
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), static_cast<long>(serial >> 1));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 30L * 86400);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string cn = dns_names.empty() ? "parley-test" : dns_names.front();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!AddExt(x.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExt(x.get(), NID_subject_key_identifier, "hash") ||
      (!san.empty() && !AddExt(x.get(), NID_subject_alt_name, san))) {
    return Fail("X509 extension");
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) return Fail("X509_sign");

  TestCert out;
  Ptr<BIO> cert_bio(BIO_new(BIO_s_mem()));
  Ptr<BIO> key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), x.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return Fail("PEM_write");
  }
  out.cert_pem = BioString(cert_bio.get());
  out.key_pem = BioString(key_bio.get());
  return out;
}

Result<std::string> WriteTestCert(const TestCert& cert, const std::string& dir,
                                  const std::string& name) {
  const std::string crt = dir + "/" + name + ".crt";
  const std::string key = dir + "/" + name + ".key";
  for (const auto& [path, text] : {std::pair{crt, cert.cert_pem}, std::pair{key, cert.key_pem}}) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out.flush()) return Status(Code::kIOError, "cannot write " + path);
    ::chmod(path.c_str(), 0600);
  }
  return crt;
}

}  // namespace parley::testing
