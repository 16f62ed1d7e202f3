#include "cli.h"

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "protocol/json_writer.h"

namespace parley::cli {

void Cli::Command(CLI::App* sub, std::function<int()> run) {
  commands_.emplace_back(sub, std::move(run));
}

int Cli::RunSelected() {
  const char* env = std::getenv("PARLEY_SERVER");
  if (!opts.server.empty() || (env && *env)) {
    // A malformed --server is a usage error, not "cannot connect".
    if (auto url = client::ParseUrl(ServerUrl()); !url.ok()) return Usage(url.status().message());
  }
  if (const std::string ca = CaFile(); !ca.empty() && ::access(ca.c_str(), R_OK) != 0) {
    return Usage("cannot read the CA file " + ca + ": " + std::strerror(errno));
  }
  for (auto& [sub, run] : commands_) {
    if (sub->parsed()) return run();
  }
  return Usage("no command given (see --help)");
}

std::string Cli::Home() const {
  if (const char* home = std::getenv("PARLEY_HOME"); home && *home) return home;
  const char* user_home = std::getenv("HOME");
  return std::string(user_home && *user_home ? user_home : ".") + "/.config/parley";
}

client::FileStateStore& Cli::store() {
  if (!store_) store_ = std::make_unique<client::FileStateStore>(SessionPath());
  return *store_;
}

std::string Cli::ServerUrl(const client::SessionState* session) const {
  if (!opts.server.empty()) return opts.server;
  if (const char* env = std::getenv("PARLEY_SERVER"); env && *env) return env;
  if (session && !session->server.empty()) return session->server;
  return kDefaultServer;
}

std::chrono::milliseconds Cli::timeout() const {
  return std::chrono::milliseconds(static_cast<int64_t>(opts.timeout_s * 1000));
}

std::string Cli::CaFile() const {
  if (!opts.ca_file.empty()) return opts.ca_file;
  if (const char* env = std::getenv("PARLEY_CA_FILE"); env && *env) return env;
  return "";
}

client::ConnectOptions Cli::ConnectOptionsFor(const std::string& url) const {
  client::ConnectOptions o;
  o.url = url;
  o.connect_timeout_ms = timeout().count();
  o.ca_file = CaFile();
  return o;
}

client::HttpRequestSpec Cli::HttpSpecFor(const client::Url& url) const {
  client::HttpRequestSpec spec;
  spec.host = url.host;
  spec.port = url.port;
  spec.tls = url.tls;
  spec.ca_file = CaFile();
  spec.timeout_s = std::max(1, static_cast<int>(opts.timeout_s));
  return spec;
}

Result<std::unique_ptr<client::BlockingClient>> Cli::Connect(const std::string& url) {
  PARLEY_ASSIGN_OR_RETURN(client::Url parsed, client::ParseUrl(url));
  (void)parsed;  // checked here so a typo is a usage-like error, not "cannot connect"
  auto c = std::make_unique<client::BlockingClient>(ConnectOptionsFor(url), timeout());
  // This client reads no pushes; do not queue them.
  c->set_max_queued_frames(0);
  PARLEY_RETURN_IF_ERROR(c->Connect());
  return c;
}

Result<Session> Cli::OpenSession() {
  Session s;
  PARLEY_ASSIGN_OR_RETURN(s.state, store().Load());
  if (s.state.token.empty()) {
    return Status(Code::kUnauthenticated, "not logged in (run: parley login NAME)");
  }
  PARLEY_ASSIGN_OR_RETURN(s.client, Connect(ServerUrl(&s.state)));
  auto auth = s.client->Auth(s.state.token, s.state.device);
  if (!auth.ok()) {
    if (auth.status().code() == Code::kUnauthenticated) {
      return Status(
          Code::kUnauthenticated,
          "the stored session was revoked or expired (run: parley login " + s.state.name + ")");
    }
    return auth.status();
  }
  return s;
}

int Cli::Fail(const Status& status) {
  const bool transport = client::IsTransportError(status);
  if (opts.json) {
    JsonWriter w;
    w.BeginObject().Key("ok").Bool(false).Key("error").String(CodeName(status.code()));
    w.Key("message").String(status.message()).Key("transport").Bool(transport).EndObject();
    std::cerr << w.str() << '\n';
  } else if (transport) {
    std::cerr << "parley: cannot reach the server: " << status.message() << '\n';
  } else {
    std::cerr << "parley: " << CodeName(status.code()) << ": " << status.message() << '\n';
  }
  return transport ? kExitCannotConnect : kExitServerError;
}

int Cli::Usage(const std::string& message) {
  std::cerr << "parley: " << message << '\n';
  return kExitUsage;
}

void Cli::Out(const std::string& line) {
  std::cout << line << '\n';
  std::cout.flush();  // `tail` output goes to pipes: line by line
}

void Cli::Note(const std::string& line) {
  if (!opts.json) std::cerr << line << '\n';
}

void AddGlobalOptions(CLI::App& app, Cli& cli) {
  app.fallthrough();  // global options may also follow the subcommand
  app.require_subcommand(1);
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
}

int ParseAndRun(CLI::App& app, Cli& cli, int argc, char** argv) {
  cli.args.assign(argv, argv + argc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;  // --help is not an error
  }
  return cli.RunSelected();
}

client::UserArg UserArgOf(const std::string& s) {
  UserId id = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec == std::errc() && end == s.data() + s.size() && id != 0) return client::UserArg(id);
  return client::UserArg(s);
}

Result<std::string> ReadPassword(const std::string& flag_value, bool from_stdin) {
  if (!flag_value.empty()) return flag_value;
  const bool tty = ::isatty(STDIN_FILENO);
  if (!from_stdin && !tty) {
    return InvalidArgument("no password: use --password, --password-stdin, or a terminal");
  }
  termios saved{};
  const bool hide = !from_stdin && tty && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (hide) {
    std::cerr << "Password: " << std::flush;
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (hide) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << '\n';
  }
  if (!got && line.empty()) return InvalidArgument("no password on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace parley::cli
