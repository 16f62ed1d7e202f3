// AWS Signature Version 4 for S3: the canonical request, the string to sign, the signing
// key, and the two ways of carrying the signature — an Authorization header (requests
// parleyd sends) and a presigned URL's query (short-lived download links handed to
// clients). libcurl's built-in SigV4 cannot be used for S3 (no x-amz-content-sha256,
// valueless query keys such as `?uploads` and unsorted queries are signed wrongly), and it
// cannot presign.
//
// The reference is AWS's "Signature Calculations for the Authorization Header" and
// "Authenticating Requests: Using Query Parameters" (S3 API); sigv4_test.cc checks the
// examples published there.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::s3 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (temporary credentials): x-amz-security-token
};

// SHA-256 of the empty body, and the marker for a body not hashed (presigned URLs).
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// A request to sign. `path` is the object path as the server sees it, not yet encoded
// ("/bucket/photos/a b.jpg"); query values are raw (encoded here); header names in any
// case. A query key without a value ("uploads") is written "uploads=" in the canonical
// form, as S3 expects.
struct Request {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // must include "host"
  std::string payload_sha256 = std::string(kEmptySha256);    // lower-case hex, or UNSIGNED
};

struct Scope {
  std::string region = "us-east-1";
  std::string service = "s3";
  std::string amz_date;  // "YYYYMMDDTHHMMSSZ" (UTC)
  std::string date() const { return amz_date.substr(0, 8); }
  std::string str() const { return date() + "/" + region + "/" + service + "/aws4_request"; }
};

// RFC 3986 encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - _ . ~) kept,
// everything else %XX with upper-case hex; '/' kept when `keep_slash` (paths).
std::string UriEncode(std::string_view in, bool keep_slash);
std::string Sha256Hex(std::string_view data);
// "YYYYMMDDTHHMMSSZ" of a Unix time.
std::string AmzDate(int64_t unix_seconds);

// The canonical query string: keys and values encoded, sorted by key then value.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);
// The canonical request and its signed-headers list ("host;range;x-amz-date").
std::string CanonicalRequest(const Request& request, std::string* signed_headers);
std::string StringToSign(const Scope& scope, std::string_view canonical_request);
// The hex signature of `string_to_sign` with the key derived for `scope`.
std::string Signature(std::string_view secret_key, const Scope& scope,
                      std::string_view string_to_sign);

// Adds x-amz-date, x-amz-content-sha256 (and x-amz-security-token) to request->headers,
// then returns the Authorization header's value.
std::string SignHeaders(Request* request, const Credentials& credentials, const Scope& scope);

// Adds the X-Amz-* query parameters of a presigned URL valid `expires_s` seconds (1 s to
// 7 days) to request->query and returns the query string to append after '?', the
// signature last. Only `host` is signed; the payload is UNSIGNED-PAYLOAD.
std::string PresignQuery(Request* request, const Credentials& credentials, const Scope& scope,
                         int64_t expires_s);

}  // namespace parley::s3
