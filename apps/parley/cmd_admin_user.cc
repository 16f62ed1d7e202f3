// `parley admin user revoke NAME`: revokes every device of a user on the running parleyd
// (POST /admin/users/NAME/revoke) and closes its live sessions (close code 4001). Needs the
// admin token: --token-file FILE or $PARLEY_ADMIN_TOKEN, like `admin backup create`.
#include <fmt/format.h>

#include "admin_http.h"
#include "cli.h"

namespace parley::cli {
namespace {

struct RevokeArgs {
  std::string name;
  std::string admin_url;
  std::string token_file;
};

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

int Revoke(Cli& cli, const RevokeArgs& a) {
  if (!PathSafe(a.name)) return cli.Usage("not a user name: '" + a.name + "'");
  auto token = ReadAdminToken(a.token_file);
  if (!token.ok()) return cli.Usage(std::string(token.status().message()));
  auto res = AdminCall(cli, a.admin_url, *token, "POST", "/admin/users/" + a.name + "/revoke", "",
                       static_cast<int>(cli.opts.timeout_s));
  if (!res.ok()) return cli.Fail(res.status());
  const uint64_t revoked = res->value("revoked", uint64_t{0});
  cli.Out(cli.opts.json ? res->dump()
                        : fmt::format("revoked {} device(s) of {}; their sessions are closed",
                                      revoked, res->value("user", a.name)));
  return kExitOk;
}

}  // namespace

void AddAdminUserRevoke(CLI::App& user, Cli& cli) {
  auto a = std::make_shared<RevokeArgs>();
  auto* revoke = user.add_subcommand(
      "revoke", "log a user out everywhere: revoke every device, close live sessions");
  revoke->add_option("name", a->name, "the user name")->required();
  AddAdminServerOptions(revoke, a->admin_url, a->token_file);
  cli.Command(revoke, [&cli, a] { return Revoke(cli, *a); });
}

}  // namespace parley::cli
