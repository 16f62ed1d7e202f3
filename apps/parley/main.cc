// parley: the command-line client of the Parley messaging server. One file per command
// group (cmd_*.cc); a future `parley admin …` family is one more AddAdminCommands.
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "cli.h"

int main(int argc, char** argv) {
  using namespace parley::cli;
  // Exports, restored stores, imports and the saved session hold users' data or a token:
  // owner-only (common/files.h).
  ::umask(077);
  CLI::App app{"parley: command-line client for the Parley messaging server"};
  app.fallthrough();  // global options may also follow the subcommand
  app.require_subcommand(1);
  Cli cli;
  app.add_option("--server", cli.opts.server,
                 "ws://HOST:PORT or wss://HOST[:PORT] (default: $PARLEY_SERVER, then the "
                 "logged-in server, then " +
                     std::string(kDefaultServer) + ")");
  app.add_option("--ca-file", cli.opts.ca_file,
                 "PEM file of the CAs that wss:// and https:// trust instead of the system's "
                 "(default: $PARLEY_CA_FILE)");
  app.add_flag("--json", cli.opts.json, "print one JSON object per line (for scripts)");
  app.add_option("--timeout", cli.opts.timeout_s, "seconds to wait for the server (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  app.footer(
      "Session: $PARLEY_HOME (default ~/.config/parley). Exit codes: 0 ok, 1 server error, "
      "2 usage, 3 cannot connect.");

  AddAccountCommands(app, cli);
  AddMessageCommands(app, cli);
  AddConvCommands(app, cli);
  AddSyncCommands(app, cli);
  AddSearchCommands(app, cli);
  AddAdminCommands(app, cli);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;  // --help is not an error
  }
  return cli.RunSelected();
}
