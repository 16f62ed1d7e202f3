// `parley admin user revoke NAME`: revokes every device of a user on the running parleyd
// (POST /admin/users/NAME/revoke) and closes its live sessions (close code 4001). Needs the
// admin token: --token-file FILE or $PARLEY_ADMIN_TOKEN, like `admin backup create`.
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "client/http_request.h"
#include "client/url.h"

namespace parley::cli {
namespace {

struct UserArgs {
  std::string name;
  std::string admin_url;
  std::string token_file;
};

Result<std::string> ReadAdminToken(const UserArgs& a) {
  std::string token;
  if (!a.token_file.empty()) {
    std::ifstream in(a.token_file);
    if (!in) return Status(Code::kInvalidArgument, "cannot read --token-file " + a.token_file);
    std::getline(in, token);
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

// Names go into the path: only the characters a user name may have, so nothing needs
// escaping (an impossible name is simply unknown to the server).
bool PathSafe(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

int Revoke(Cli& cli, const UserArgs& a) {
  if (!PathSafe(a.name)) return cli.Usage("not a user name: '" + a.name + "'");
  auto token = ReadAdminToken(a);
  if (!token.ok()) return cli.Usage(std::string(token.status().message()));
  std::string url_text = a.admin_url.empty() ? cli.ServerUrl() : a.admin_url;
  if (url_text.rfind("http://", 0) == 0) url_text = "ws://" + url_text.substr(7);
  auto url = client::ParseUrl(url_text);
  if (!url.ok()) return cli.Usage(std::string(url.status().message()));
  client::HttpRequestSpec spec;
  spec.host = url->host;
  spec.port = url->port;
  spec.method = "POST";
  spec.path = "/admin/users/" + a.name + "/revoke";
  spec.headers.emplace_back("Authorization", "Bearer " + *token);
  spec.timeout_s = static_cast<int>(cli.opts.timeout_s);
  auto res = client::HttpRequest(spec);
  if (!res.ok()) return cli.Fail(res.status());
  auto body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status != 200) {
    const std::string message =
        body.is_object() && body.contains("error") && body["error"].is_string()
            ? body["error"].get<std::string>()
            : res->body;
    const Code code = res->status == 401   ? Code::kUnauthenticated
                      : res->status == 404 ? Code::kNotFound
                                           : Code::kInternal;
    return cli.Fail(Status(code, fmt::format("HTTP {}: {}", res->status, message)));
  }
  if (!body.is_object()) return cli.Fail(Status(Code::kIOError, "the server's answer is not JSON"));
  const uint64_t revoked = body.value("revoked", uint64_t{0});
  cli.Out(cli.opts.json ? body.dump()
                        : fmt::format("revoked {} device(s) of {}; their sessions are closed",
                                      revoked, body.value("user", a.name)));
  return kExitOk;
}

}  // namespace

void AddAdminUserCommands(CLI::App& admin, Cli& cli) {
  auto* user = admin.add_subcommand("user", "manage users on the running server");
  user->require_subcommand(1);
  auto a = std::make_shared<UserArgs>();
  auto* revoke = user->add_subcommand(
      "revoke", "log a user out everywhere: revoke every device, close live sessions");
  revoke->add_option("name", a->name, "the user name")->required();
  revoke->add_option("--admin-url", a->admin_url,
                     "http://HOST:PORT of parleyd (default: the --server address)");
  revoke->add_option("--token-file", a->token_file,
                     "a file holding the [admin] token (default: $PARLEY_ADMIN_TOKEN)");
  cli.Command(revoke, [&cli, a] { return Revoke(cli, *a); });
}

}  // namespace parley::cli
