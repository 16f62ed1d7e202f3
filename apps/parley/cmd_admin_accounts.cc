// `parley admin invite` and `parley admin user add`: accounts made by an administrator,
// through the running server's admin API (the token: --token-file FILE or
// $PARLEY_ADMIN_TOKEN).
//
//   invite [--uses N] [--expires-in SECONDS]   POST /admin/invites: prints a registration
//                                              invite (for `registration = "invite"`)
//   user add NAME [--password-stdin]           POST /admin/users: creates the account
//                                              whatever the registration policy
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "admin_http.h"
#include "cli.h"

namespace parley::cli {
namespace {

struct AccountArgs {
  std::string admin_url;
  std::string token_file;
  int64_t uses = 1;
  int64_t expires_in_s = 0;
  std::string name;
  std::string password;
  bool password_stdin = false;
};

int Invite(Cli& cli, const AccountArgs& a) {
  auto token = ReadAdminToken(a.token_file);
  if (!token.ok()) return cli.Usage(std::string(token.status().message()));
  const std::string body =
      nlohmann::json{{"uses", a.uses}, {"expires_in_s", a.expires_in_s}}.dump();
  auto res = AdminCall(cli, a.admin_url, *token, "POST", "/admin/invites", body,
                       static_cast<int>(cli.opts.timeout_s));
  if (!res.ok()) return cli.Fail(res.status());
  if (cli.opts.json) {
    cli.Out(res->dump());
    return kExitOk;
  }
  const int64_t expires = res->value("expires_ms", int64_t{0});
  cli.Out(res->value("token", std::string()));
  cli.Note(
      fmt::format("an invite for {} registration(s), {}; it is shown only this once "
                  "(register with: parley register NAME --invite TOKEN)",
                  res->value("uses", 0),
                  expires == 0 ? std::string("without expiry")
                               : fmt::format("expiring in {} s", a.expires_in_s)));
  return kExitOk;
}

int AddUser(Cli& cli, const AccountArgs& a) {
  auto password = ReadPassword(a.password, a.password_stdin);
  if (!password.ok()) return cli.Usage(std::string(password.status().message()));
  auto token = ReadAdminToken(a.token_file);
  if (!token.ok()) return cli.Usage(std::string(token.status().message()));
  const std::string body = nlohmann::json{{"name", a.name}, {"password", *password}}.dump();
  auto res = AdminCall(cli, a.admin_url, *token, "POST", "/admin/users", body,
                       static_cast<int>(cli.opts.timeout_s));
  if (!res.ok()) return cli.Fail(res.status());
  cli.Out(cli.opts.json ? res->dump()
                        : fmt::format("created {} (user {})", res->value("name", std::string()),
                                      res->value("user", uint64_t{0})));
  return kExitOk;
}

}  // namespace

void AddAdminUserCommands(CLI::App& admin, Cli& cli) {
  auto a = std::make_shared<AccountArgs>();
  auto* invite = admin.add_subcommand("invite", "create a registration invite");
  invite->add_option("--uses", a->uses, "registrations it allows (default 1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  invite->add_option("--expires-in", a->expires_in_s, "seconds until it expires (default: never)")
      ->check(CLI::Range(int64_t{0}, int64_t{365} * 86400));
  AddAdminServerOptions(invite, a->admin_url, a->token_file);
  cli.Command(invite, [&cli, a] { return Invite(cli, *a); });

  auto* user = admin.add_subcommand("user", "manage accounts");
  user->require_subcommand(1);
  auto* add = user->add_subcommand("add", "create an account (whatever the registration policy)");
  add->add_option("NAME", a->name, "3-32 characters of a-z 0-9 _ . - starting with a letter")
      ->required();
  auto* pw = add->add_option("--password", a->password, "the password (visible to ps)");
  add->add_flag("--password-stdin", a->password_stdin,
                "read the password from the first line of stdin")
      ->excludes(pw);
  AddAdminServerOptions(add, a->admin_url, a->token_file);
  cli.Command(add, [&cli, a] { return AddUser(cli, *a); });
  AddAdminUserRevoke(*user, cli);
}

}  // namespace parley::cli
