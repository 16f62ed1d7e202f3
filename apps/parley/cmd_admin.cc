// `parley admin …`: server administration. The commands that talk to the running parleyd's
// admin API are here: backups in cmd_backup.cc, invites and users in cmd_admin_accounts.cc
// and cmd_admin_user.cc. Those that open a data directory themselves (reindex, export,
// import; backup verify, restore, keygen and list --target) are run by parley-admin
// (apps/parley-admin; admin_exec.h).
#include "admin_exec.h"
#include "cli.h"

namespace parley::cli {

void AddAdminCommands(CLI::App& app, Cli& cli) {
  auto* admin = app.add_subcommand(
      "admin", "server administration: backups, export, reindex, invites, users");
  admin->require_subcommand(1);
  AddParleyAdminCommand(*admin, cli, kReindexCommand);
  AddAdminBackupCommands(*admin, cli);
  AddParleyAdminCommand(*admin, cli, kExportCommand);
  AddParleyAdminCommand(*admin, cli, kImportCommand);
  AddAdminUserCommands(*admin, cli);
}

}  // namespace parley::cli
