#include "files/http_util.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/crypto.h"

namespace parley::files {

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

}  // namespace parley::files
