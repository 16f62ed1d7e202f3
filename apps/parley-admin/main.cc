// parley-admin: the `parley admin` commands that work offline, on a data directory
// (reindex, export, import) or a backup target (backup list --target, verify, restore,
// keygen). They need the store, search and backup libraries, and with them RocksDB and
// SQLite, which the `parley` client does not link (issue 11): `parley admin export …`
// runs this binary, found beside it, with the same command line (apps/parley/admin_exec.h).
// So the command line is `parley`'s too — `parley-admin [OPTIONS] admin COMMAND …` — and
// so are the messages and exit codes (apps/parley/cli.h).
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "admin_commands.h"
#include "cli.h"

int main(int argc, char** argv) {
  using namespace parley::cli;
  // Exports, restored stores and imports hold users' data: owner-only (common/files.h).
  ::umask(077);
  CLI::App app{"parley-admin: the offline `parley admin` commands (the server stopped, or gone)"};
  Cli cli;
  AddGlobalOptions(app, cli);

  auto* admin = app.add_subcommand(
      "admin", "work on a data directory or a backup target: reindex, export, import, backups");
  admin->require_subcommand(1);
  AddReindexCommand(*admin, cli);
  AddBackupTargetCommands(*admin, cli);
  AddAdminExportCommands(*admin, cli);

  return ParseAndRun(app, cli, argc, argv);
}
