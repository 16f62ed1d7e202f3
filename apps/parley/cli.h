// The `parley` CLI's shared context: global options, where the session lives, how to
// connect and authenticate, how results and errors are printed, and the exit codes.
// Each command group (cmd_*.cc) registers its subcommands against one Cli.
//
// Exit codes: 0 ok, 1 the server refused (its error code and message are printed),
// 2 usage, 3 cannot connect (or the connection failed mid-command).
//
// Thread-safety: single-threaded, except what `tail` documents.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/blocking_client.h"
#include "client/http_request.h"
#include "client/state_store.h"
#include "client/url.h"

namespace parley::cli {

enum ExitCode : int { kExitOk = 0, kExitServerError = 1, kExitUsage = 2, kExitCannotConnect = 3 };

constexpr char kDefaultServer[] = "ws://127.0.0.1:7800";

struct GlobalOptions {
  std::string server;   // --server; empty: $PARLEY_SERVER, the session's, the default
  std::string ca_file;  // --ca-file; empty: $PARLEY_CA_FILE, else the system CAs
  bool json = false;    // --json: one JSON object per line on stdout
  double timeout_s = 10;
};

// A connection authenticated with the stored session.
struct Session {
  client::SessionState state;
  std::unique_ptr<client::BlockingClient> client;
};

class Cli {
 public:
  GlobalOptions opts;
  // The command line as given (argv), for the commands that parley-admin runs with it.
  std::vector<std::string> args;

  // Registers `run` as the action of subcommand `sub` (a leaf).
  void Command(CLI::App* sub, std::function<int()> run);
  // Runs the action of the subcommand that was parsed.
  int RunSelected();

  // $PARLEY_HOME, else ~/.config/parley.
  std::string Home() const;
  std::string SessionPath() const { return Home() + "/session.json"; }
  client::FileStateStore& store();

  // The server to talk to: --server, $PARLEY_SERVER, the session's server, the default.
  std::string ServerUrl(const client::SessionState* session = nullptr) const;
  // The CAs that wss:// and https:// trust: --ca-file, $PARLEY_CA_FILE, "" (the system's).
  std::string CaFile() const;
  // How to reach `url` (WebSocket) or its HTTP endpoints: every connection the CLI makes
  // goes through one of these two, so the server options apply to all of them alike.
  client::ConnectOptions ConnectOptionsFor(const std::string& url) const;
  client::HttpRequestSpec HttpSpecFor(const client::Url& url) const;
  std::chrono::milliseconds timeout() const;

  // A connected, unauthenticated client (register, login).
  Result<std::unique_ptr<client::BlockingClient>> Connect(const std::string& url);
  // Loads the session and resumes it with `auth`. Not logged in: kUnauthenticated.
  Result<Session> OpenSession();

  // Prints the error (human: stderr; --json: a JSON object on stderr) and returns its
  // exit code: 3 for transport errors, 1 for the rest.
  int Fail(const Status& status);
  // Prints a usage error and returns 2.
  int Usage(const std::string& message);
  // Prints one line to stdout (a JSON object with --json, else text).
  void Out(const std::string& line);
  // Prints a notice to stderr (human mode only: scripts parse stdout).
  void Note(const std::string& line);

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
  std::unique_ptr<client::FileStateStore> store_;
};

// The options every command accepts (--server, --ca-file, --json, --timeout) and the
// footer on sessions and exit codes. `parley` and `parley-admin` both parse the same
// command line with them, so a global option may come before or after the subcommand.
void AddGlobalOptions(CLI::App& app, Cli& cli);

// Keeps the command line in cli.args, parses it and runs the chosen command: its exit
// code, 2 on a usage error, 0 after --help.
int ParseAndRun(CLI::App& app, Cli& cli, int argc, char** argv);

// A user argument: a decimal id, else a name.
client::UserArg UserArgOf(const std::string& s);

// Reads a password from --password, --password-stdin, or a no-echo prompt on a TTY.
Result<std::string> ReadPassword(const std::string& flag_value, bool from_stdin);

// Registration of each command group.
void AddAccountCommands(CLI::App& app, Cli& cli);        // register login logout whoami users
void AddMessageCommands(CLI::App& app, Cli& cli);        // send history read recall edit
void AddConvCommands(CLI::App& app, Cli& cli);           // convs group …
void AddSyncCommands(CLI::App& app, Cli& cli);           // sync tail
void AddSearchCommands(CLI::App& app, Cli& cli);         // search
void AddAttachmentCommands(CLI::App& app, Cli& cli);     // get (send --file: cmd_message.cc)
void AddAdminCommands(CLI::App& app, Cli& cli);          // admin …
void AddAdminBackupCommands(CLI::App& admin, Cli& cli);  // admin backup …
void AddAdminUserCommands(CLI::App& admin, Cli& cli);    // admin invite, admin user add
void AddAdminUserRevoke(CLI::App& user, Cli& cli);       // admin user revoke

}  // namespace parley::cli
