#include "s3/sigv4.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "common/ascii.h"

namespace parley::s3 {

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

using Mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

Mac Hmac(std::string_view key, std::string_view data) {
  Mac out;
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  return out;
}

std::string_view View(const Mac& m) {
  return std::string_view(reinterpret_cast<const char*>(m.data()), m.size());
}

// Header values: leading and trailing spaces dropped, inner runs of spaces made one.
std::string TrimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view in, bool keep_slash) {
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += "0123456789ABCDEF"[c >> 4];
      out += "0123456789ABCDEF"[c & 15];
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return Hex(digest, sizeof(digest));
}

std::string AmzDate(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string CanonicalRequest(const Request& request, std::string* signed_headers) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(request.headers.size());
  for (const auto& [name, value] : request.headers) {
    headers.emplace_back(AsciiLower(name), TrimValue(value));
  }
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, names;
  for (size_t i = 0; i < headers.size(); ++i) {
    // Repeated headers: one line, values joined by commas in their order.
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';
      canonical_headers += headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    if (!names.empty()) names += ';';
    names += headers[i].first;
  }
  if (signed_headers) *signed_headers = names;
  return request.method + "\n" + UriEncode(request.path, true) + "\n" +
         CanonicalQuery(request.query) + "\n" + canonical_headers + "\n" + names + "\n" +
         request.payload_sha256;
}

std::string StringToSign(const Scope& scope, std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + scope.str() + "\n" +
         Sha256Hex(canonical_request);
}

std::string Signature(std::string_view secret_key, const Scope& scope,
                      std::string_view string_to_sign) {
  const Mac date_key = Hmac("AWS4" + std::string(secret_key), scope.date());
  const Mac region_key = Hmac(View(date_key), scope.region);
  const Mac service_key = Hmac(View(region_key), scope.service);
  const Mac signing_key = Hmac(View(service_key), "aws4_request");
  const Mac signature = Hmac(View(signing_key), string_to_sign);
  return Hex(signature.data(), signature.size());
}

std::string SignHeaders(Request* request, const Credentials& credentials, const Scope& scope) {
  request->headers.emplace_back("x-amz-date", scope.amz_date);
  request->headers.emplace_back("x-amz-content-sha256", request->payload_sha256);
  if (!credentials.session_token.empty()) {
    request->headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  std::string signed_headers;
  const std::string canonical = CanonicalRequest(*request, &signed_headers);
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key + "/" + scope.str() +
         ",SignedHeaders=" + signed_headers +
         ",Signature=" + Signature(credentials.secret_key, scope, StringToSign(scope, canonical));
}

std::string PresignQuery(Request* request, const Credentials& credentials, const Scope& scope,
                         int64_t expires_s) {
  expires_s = std::clamp<int64_t>(expires_s, 1, 7 * 24 * 3600);
  std::string host;
  for (const auto& [name, value] : request->headers) {
    if (AsciiLower(name) == "host") host = value;
  }
  request->headers = {{"host", host}};
  request->payload_sha256 = std::string(kUnsignedPayload);
  request->query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  request->query.emplace_back("X-Amz-Credential", credentials.access_key + "/" + scope.str());
  request->query.emplace_back("X-Amz-Date", scope.amz_date);
  request->query.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  if (!credentials.session_token.empty()) {
    request->query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  request->query.emplace_back("X-Amz-SignedHeaders", "host");
  const std::string canonical = CanonicalRequest(*request, nullptr);
  const std::string signature =
      Signature(credentials.secret_key, scope, StringToSign(scope, canonical));
  return CanonicalQuery(request->query) + "&X-Amz-Signature=" + signature;
}

}  // namespace parley::s3
