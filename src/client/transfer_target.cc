#include "client/transfer_target.h"

#include <algorithm>

namespace parley::client {
namespace {

// Create, HEAD, info: small replies. `complete` may hash a large file and make a
// thumbnail first, so the bound is generous.
constexpr long kJsonTimeoutS = 60;

}  // namespace

Result<TransferTarget> TargetForServer(const std::string& server_url, const std::string& token,
                                       const std::string& ca_file) {
  PARLEY_ASSIGN_OR_RETURN(std::string base, HttpBaseOf(server_url));
  return TransferTarget{std::move(base), token, ca_file};
}

std::string AuthHeader(const TransferTarget& target) {
  return "Authorization: Bearer " + target.token;
}

Result<HttpReply> JsonRequest(const TransferTarget& target, const std::string& method,
                              const std::string& path, const std::string& body) {
  HttpCall call;
  call.method = method;
  call.url = target.base_url + path;
  call.headers = {AuthHeader(target)};
  if (!body.empty()) call.headers.push_back("Content-Type: application/json");
  call.body = body;
  call.ca_file = target.ca_file;
  call.total_timeout_s = kJsonTimeoutS;
  return Perform(call);
}

int64_t RetryAfterMs(const HttpReply& reply) {
  const int64_t s = ParseDecimal(reply.Header("retry-after"));
  return s < 0 ? 0 : std::min<int64_t>(s, 60) * 1000;
}

}  // namespace parley::client
