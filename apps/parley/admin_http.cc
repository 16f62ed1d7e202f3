#include "admin_http.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

#include "client/http_request.h"
#include "client/url.h"

namespace parley::cli {

Result<std::string> ReadAdminToken(const std::string& token_file) {
  std::string token;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return Status(Code::kInvalidArgument, "cannot read --token-file " + token_file);
    // Its first line, read with a bound (a token is short; /dev/zero is not a token file).
    token.resize(4096);
    in.read(token.data(), static_cast<std::streamsize>(token.size()));
    token.resize(static_cast<size_t>(in.gcount()));
    token = token.substr(0, token.find('\n'));
  } else if (const char* env = std::getenv("PARLEY_ADMIN_TOKEN")) {
    token = env;
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) {
    return Status(Code::kInvalidArgument,
                  "the admin token is needed: --token-file FILE or $PARLEY_ADMIN_TOKEN");
  }
  return token;
}

Result<nlohmann::json> AdminCall(Cli& cli, const std::string& admin_url, const std::string& token,
                                 const std::string& method, const std::string& path,
                                 const std::string& body, int timeout_s) {
  PARLEY_ASSIGN_OR_RETURN(client::Url url,
                          client::ParseHttpUrl(admin_url.empty() ? cli.ServerUrl() : admin_url));
  client::HttpRequestSpec spec = cli.HttpSpecFor(url);
  spec.method = method;
  spec.path = path;
  spec.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty()) {
    spec.headers.emplace_back("Content-Type", "application/json");
    spec.body = body;
  }
  spec.timeout_s = timeout_s;
  PARLEY_ASSIGN_OR_RETURN(client::HttpResponse res, client::HttpRequest(spec));
  auto answer = nlohmann::json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (res.status / 100 != 2) {
    std::string message =
        answer.is_object() && answer.contains("error") && answer["error"].is_string()
            ? answer["error"].get<std::string>()
            : res.body;
    const bool accounts = path.rfind("/admin/users", 0) == 0;
    const Code code = res.status == 401               ? Code::kUnauthenticated
                      : res.status == 400             ? Code::kInvalidArgument
                      : res.status == 409 && accounts ? Code::kAlreadyExists
                      : res.status == 409             ? Code::kFailedPrecondition
                      : res.status == 503             ? Code::kFailedPrecondition
                      : res.status == 404             ? Code::kNotFound
                                                      : Code::kInternal;
    return Status(code, fmt::format("HTTP {}: {}", res.status, message));
  }
  if (answer.is_discarded()) return Status(Code::kIOError, "the server's answer is not JSON");
  return answer;
}

void AddAdminServerOptions(CLI::App* sub, std::string& admin_url, std::string& token_file) {
  sub->add_option("--admin-url", admin_url,
                  "http://HOST:PORT of parleyd (default: the --server address)");
  sub->add_option("--token-file", token_file,
                  "a file holding the [admin] token (default: $PARLEY_ADMIN_TOKEN)");
}

}  // namespace parley::cli
