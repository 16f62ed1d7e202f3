// parley: the command-line client of the Parley messaging server. One file per command
// group (cmd_*.cc). The admin commands that work offline on a data directory or a backup
// target live in parley-admin (apps/parley-admin), so that this binary links neither
// RocksDB nor SQLite; `parley admin export …` and the like run it (admin_exec.h).
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "cli.h"

int main(int argc, char** argv) {
  using namespace parley::cli;
  // Exports, restored stores, imports and the saved session hold users' data or a token:
  // owner-only (common/files.h). parley-admin inherits it and sets it again.
  ::umask(077);
  CLI::App app{"parley: command-line client for the Parley messaging server"};
  Cli cli;
  AddGlobalOptions(app, cli);

  AddAccountCommands(app, cli);
  AddMessageCommands(app, cli);
  AddAttachmentCommands(app, cli);
  AddConvCommands(app, cli);
  AddSyncCommands(app, cli);
  AddSearchCommands(app, cli);
  AddAdminCommands(app, cli);

  return ParseAndRun(app, cli, argc, argv);
}
