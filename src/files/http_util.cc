#include "files/http_util.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/crypto.h"

namespace parley::files {
namespace {

bool ParseUint(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string RequestIdOf(const RouteRequest& req) {
  std::string id = req.Header("X-Request-Id");
  const bool usable =
      !id.empty() && id.size() <= 64 &&
      std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  return usable ? id : RandomHex(8);
}

RouteReply JsonReply(int status, std::string body, const std::string& request_id) {
  RouteReply reply{status, std::move(body), "application/json"};
  reply.headers.emplace_back("X-Request-Id", request_id);
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

RouteReply ErrorReply(int status, std::string_view code, std::string_view message,
                      const std::string& request_id) {
  nlohmann::json j = {{"error", code}, {"message", message}, {"request_id", request_id}};
  RouteReply reply = JsonReply(
      status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", request_id);
  if (status == 429 || status == 503) reply.retry_after_s = 1;
  return reply;
}

RouteReply StatusReply(const Status& status, const std::string& request_id) {
  struct Mapping {
    Code code;
    int http;
  };
  static constexpr std::array<Mapping, 13> kMap = {{
      {Code::kInvalidArgument, 400},
      {Code::kBadRequest, 400},
      {Code::kBadJson, 400},
      {Code::kInvalidUtf8, 400},
      {Code::kUnauthenticated, 401},
      {Code::kNotMember, 403},
      {Code::kPermissionDenied, 403},
      {Code::kNotFound, 404},
      {Code::kFailedPrecondition, 409},
      {Code::kTooLarge, 413},
      {Code::kRateLimited, 429},
      {Code::kUnavailable, 503},
      {Code::kResourceExhausted, 507},
  }};
  int http = 500;
  for (const Mapping& m : kMap) {
    if (m.code == status.code()) http = m.http;
  }
  return ErrorReply(http, CodeName(status.code()), status.message(), request_id);
}

std::string BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      AsciiLower(authorization.substr(0, kBearer.size())) != "bearer ") {
    return {};
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return std::string(token);
}

std::optional<ByteSpan> ParseRange(std::string_view header, uint64_t size, bool* unsatisfiable) {
  *unsatisfiable = false;
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return std::nullopt;
  std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return std::nullopt;  // one range only
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view first = spec.substr(0, dash), last = spec.substr(dash + 1);
  uint64_t a = 0, b = 0;
  if (first.empty()) {  // the last N bytes
    if (!ParseUint(last, &b) || b == 0) return std::nullopt;
    if (size == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    const uint64_t n = std::min(b, size);
    return ByteSpan{size - n, n};
  }
  if (!ParseUint(first, &a)) return std::nullopt;
  if (!last.empty() && (!ParseUint(last, &b) || b < a)) return std::nullopt;
  if (a >= size) {
    *unsatisfiable = true;
    return std::nullopt;
  }
  const uint64_t end = last.empty() ? size - 1 : std::min(b, size - 1);
  return ByteSpan{a, end - a + 1};
}

std::string SafeContentType(std::string_view declared) {
  const std::string type = AsciiLower(declared.substr(0, declared.find(';')));
  static constexpr std::array<std::string_view, 6> kImages = {
      "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp"};
  for (std::string_view t : kImages) {
    if (type == t) return type;
  }
  const bool media = (type.starts_with("audio/") || type.starts_with("video/")) &&
                     type.find_first_of("+ \"") == std::string::npos;
  if (media || type == "application/pdf") return type;
  return "application/octet-stream";
}

bool ShownInline(std::string_view content_type) { return content_type.starts_with("image/"); }

std::string ContentDisposition(bool inline_view, std::string_view file_name) {
  std::string ascii, encoded;
  for (unsigned char c : file_name) {
    const bool plain = std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ' ';
    ascii += (plain && c < 0x80) ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      encoded += buf;
    }
  }
  if (ascii.empty()) ascii = "file";
  return std::string(inline_view ? "inline" : "attachment") + "; filename=\"" + ascii +
         "\"; filename*=UTF-8''" + encoded;
}

}  // namespace parley::files
