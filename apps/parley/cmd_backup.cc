// `parley admin backup …`: backups of a running server and work on a backup target.
//
//   create [--full]                 asks the running parleyd for a backup (POST /admin/backup)
//   list                            the backups: from the target (--target) or the server
//   verify [ID]                     reads every chunk of a backup back and checks it, per file
//   restore ID --to DIR             verifies, then writes the store files into an empty DIR
//   keygen --out FILE               a new 256-bit encryption key (mode 0600)
//
// `create` needs the server (its store is open there: only parleyd can take a consistent
// checkpoint) and the admin token: --token-file FILE or $PARLEY_ADMIN_TOKEN; so does `list`
// without --target. Those two are here. `verify`, `restore`, `keygen` and `list --target`
// work on the target directly, so they also work when the server is gone — which is when
// a restore is needed: parley-admin runs them (apps/parley-admin/cmd_backup_target.cc).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "admin_exec.h"
#include "admin_http.h"
#include "backup_args.h"
#include "backup_rows.h"
#include "cli.h"

namespace parley::cli {
namespace {

int Create(Cli& cli, const BackupArgs& a) {
  const std::string path = a.full ? "/admin/backup?full=1" : "/admin/backup";
  auto token = ReadAdminToken(a.token_file);
  if (!token.ok()) return cli.Usage(std::string(token.status().message()));
  auto res = AdminCall(cli, a.admin_url, *token, "POST", path, "", static_cast<int>(a.wait_s));
  if (!res.ok()) return cli.Fail(res.status());
  const BackupRow r = BackupRowOf(*res);
  if (cli.opts.json) {
    cli.Out(JsonOf(r).dump());
  } else {
    cli.Out(fmt::format("backup {} ({}{}): {} snapshot, {} new, {} stored, ~{} messages, {:.1f} s",
                        r.id, r.kind, r.encrypted ? ", encrypted" : "", MiB(r.bytes),
                        MiB(r.new_bytes), MiB(r.stored_bytes), r.messages, r.seconds));
  }
  return kExitOk;
}

// With --target: the target's own list, which parley-admin reads.
int List(Cli& cli, const BackupArgs& a) {
  if (!a.target.empty()) return RunParleyAdmin(cli);
  auto token = ReadAdminToken(a.token_file);
  if (!token.ok()) return cli.Usage(std::string(token.status().message()));
  auto res = AdminCall(cli, a.admin_url, *token, "GET", "/admin/backups", "",
                       static_cast<int>(cli.opts.timeout_s));
  if (!res.ok()) return cli.Fail(res.status());
  if (!res->is_array()) return cli.Fail(Status(Code::kIOError, "unexpected answer"));
  std::vector<BackupRow> rows;
  for (const auto& j : *res) rows.push_back(BackupRowOf(j));
  PrintBackupRows(cli, rows);
  return kExitOk;
}

}  // namespace

void AddAdminBackupCommands(CLI::App& admin, Cli& cli) {
  auto* backup = admin.add_subcommand("backup", "create, list, verify and restore backups");
  backup->require_subcommand(1);
  auto a = std::make_shared<BackupArgs>();

  auto* create = backup->add_subcommand("create", "take a backup of the running server now");
  create->add_flag("--full", a->full, "a full backup (default: incremental on the last one)");
  create->add_option("--wait", a->wait_s, "seconds to wait for the backup (default 3600)")
      ->check(CLI::Range(1.0, 86400.0));
  AddServerOptions(create, *a);
  cli.Command(create, [&cli, a] { return Create(cli, *a); });

  auto* list = backup->add_subcommand(
      "list", "list backups (from --target, else the server; --target runs parley-admin)");
  AddTargetOptions(list, *a, false);
  AddServerOptions(list, *a);
  cli.Command(list, [&cli, a] { return List(cli, *a); });

  AddParleyAdminCommand(*backup, cli, kVerifyCommand);
  AddParleyAdminCommand(*backup, cli, kRestoreCommand);
  AddParleyAdminCommand(*backup, cli, kKeygenCommand);
}

}  // namespace parley::cli
