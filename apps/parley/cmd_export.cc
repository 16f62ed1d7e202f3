// `parley admin export` and `parley admin import`: a server's users, conversations and
// messages as JSON Lines (backup/export.h has the format), for moving them to another
// server, version or storage engine.
//
//   parley admin export --data DIR [--user NAME|ID | --conv ID] [--no-passwords] [--out FILE]
//   parley admin import --data DIR [--in FILE]
//
// Both open the store directly, so parleyd must be stopped (its lock on the store makes
// opening fail, and the message says so). Export writes to stdout, or to FILE through
// FILE.tmp and a rename, so a failed export leaves no half file; its summary goes to
// stderr. Import needs a new (or empty) data directory; it reads its input twice, so
// stdin is first copied to a temporary file.
#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "backup/export.h"
#include "cli.h"
#include "common/text.h"
#include "protocol/json_writer.h"
#include "store/rocks_store.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string data = "./data";
  std::string user;
  ConvId conv = 0;
  bool no_passwords = false;
  std::string out;
};

struct ImportArgs {
  std::string data = "./data";
  std::string in;
};

Result<std::unique_ptr<Store>> OpenStore(const std::string& data_dir) {
  auto store = OpenRocksStore(data_dir);
  if (!store.ok()) {
    return Status(store.status().code(),
                  store.status().message() + " (is parleyd still running? stop it first)");
  }
  return store;
}

// The user named by --user: a decimal id, else a name.
Result<UserId> ResolveUser(Store& store, const std::string& arg) {
  client::UserArg user = UserArgOf(arg);
  if (user.name.empty()) return user.id;
  const std::string name = NormalizeUserName(user.name);
  if (name.empty()) return NotFound("no user named '" + user.name + "'");
  auto id = store.FindUserByName(name);
  if (!id.ok() && id.status().code() == Code::kNotFound) {
    return NotFound("no user named '" + name + "'");
  }
  return id;
}

// Flushes `path` to disk; false on error.
bool SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

int RunExport(Cli& cli, const ExportArgs& args) {
  if (!fs::is_directory(args.data)) return cli.Usage("--data " + args.data + ": no such directory");
  auto store = OpenStore(args.data);
  if (!store.ok()) return cli.Fail(store.status());

  backup::ExportScope scope;
  std::string what = "everything";
  if (!args.user.empty()) {
    auto user = ResolveUser(**store, args.user);
    if (!user.ok()) return cli.Fail(user.status());
    scope = backup::ExportScope::User(*user);
    what = fmt::format("user {}", *user);
  } else if (args.conv != 0) {
    scope = backup::ExportScope::Conversation(args.conv);
    what = fmt::format("conversation {}", args.conv);
  }
  scope.password_hashes = !args.no_passwords;

  backup::ExportStats stats;
  Status st;
  if (args.out.empty() || args.out == "-") {
    st = backup::Export(**store, scope, std::cout, &stats);
  } else {
    const std::string tmp = args.out + ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
      if (!file) return cli.Fail(Status(Code::kIOError, "cannot create " + tmp));
      st = backup::Export(**store, scope, file, &stats);
      file.close();
      if (st.ok() && !file) st = Status(Code::kIOError, "writing " + tmp + " failed");
    }
    if (st.ok() && !SyncFile(tmp)) st = Status(Code::kIOError, "cannot flush " + tmp);
    std::error_code ec;
    if (st.ok()) {
      fs::rename(tmp, args.out, ec);
      if (ec) st = Status(Code::kIOError, "rename " + tmp + ": " + ec.message());
    }
    if (!st.ok()) fs::remove(tmp, ec);
  }
  if (!st.ok()) return cli.Fail(st);

  // stdout may carry the export itself: the summary goes to stderr.
  if (cli.opts.json) {
    JsonWriter w;
    w.BeginObject().Key("ok").Bool(true);
    w.Key("users").Uint(stats.users).Key("conversations").Uint(stats.conversations);
    w.Key("members").Uint(stats.members).Key("read_cursors").Uint(stats.read_cursors);
    w.Key("messages").Uint(stats.messages).EndObject();
    std::cerr << w.str() << '\n';
  } else {
    cli.Note(fmt::format(
        "exported {}: {} users, {} conversations, {} members, {} read cursors, {} messages{}{}",
        what, stats.users, stats.conversations, stats.members, stats.read_cursors, stats.messages,
        args.no_passwords ? " (without passwords)" : "",
        args.out.empty() || args.out == "-" ? "" : " to " + args.out));
  }
  return kExitOk;
}

// Copies stdin to a new temporary file, which the caller removes; its path.
Result<std::string> SpoolStdin() {
  std::string path = (fs::temp_directory_path() / "parley-import-XXXXXX").string();
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return Status(Code::kIOError, "cannot create a temporary file for stdin");
  ::close(fd);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << std::cin.rdbuf();
  out.close();
  if (!out || std::cin.bad()) {
    std::error_code ec;
    fs::remove(path, ec);
    return Status(Code::kIOError, "copying stdin to " + path + " failed");
  }
  return path;
}

int RunImport(Cli& cli, const ImportArgs& args) {
  std::string input = args.in;
  std::string spooled;  // a temporary copy of stdin, removed at the end
  if (input.empty() || input == "-") {
    auto path = SpoolStdin();
    if (!path.ok()) return cli.Fail(path.status());
    input = spooled = *path;
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      if (!path.empty()) fs::remove(path, ec);
    }
  } cleanup{spooled};
  std::ifstream in(input, std::ios::binary);
  if (!in) return cli.Usage("--in " + input + ": cannot open");

  const bool created = !fs::exists(args.data);
  auto store = OpenStore(args.data);
  if (!store.ok()) return cli.Fail(store.status());
  backup::ImportStats stats;
  Status st = backup::Import(**store, in, &stats);
  if (!st.ok()) {
    store->reset();  // closes the store (and its lock)
    // A directory this command made holds nothing else: leave no half store behind.
    std::error_code ec;
    if (created) fs::remove_all(args.data, ec);
    return cli.Fail(st);
  }
  if (cli.opts.json) {
    JsonWriter w;
    w.BeginObject().Key("users").Uint(stats.users).Key("conversations").Uint(stats.conversations);
    w.Key("members").Uint(stats.members).Key("read_cursors").Uint(stats.read_cursors);
    w.Key("messages").Uint(stats.messages).Key("inbox_events").Uint(stats.inbox_events);
    w.EndObject();
    cli.Out(w.Take());
  } else {
    cli.Out(fmt::format(
        "imported {} users, {} conversations, {} members, {} read cursors, {} messages into "
        "{} ({} sync-timeline events rebuilt)",
        stats.users, stats.conversations, stats.members, stats.read_cursors, stats.messages,
        args.data, stats.inbox_events));
    cli.Note(
        "parleyd builds the search index from the imported messages when it starts (in the "
        "background); users log in again, devices and tokens are not exported");
  }
  return kExitOk;
}

}  // namespace

void AddAdminExportCommands(CLI::App& admin, Cli& cli) {
  auto ex = std::make_shared<ExportArgs>();
  auto* exp = admin.add_subcommand(
      "export", "write users, conversations and messages as JSON Lines (parleyd stopped)");
  exp->add_option("--data", ex->data, "the server's data directory (default ./data)");
  auto* user =
      exp->add_option("--user", ex->user, "only this user's conversations (a name or an id)");
  exp->add_option("--conv", ex->conv, "only this conversation")->excludes(user);
  exp->add_flag("--no-passwords", ex->no_passwords,
                "leave out password hashes (the imported accounts cannot log in)");
  exp->add_option("--out", ex->out, "write to FILE (through FILE.tmp) instead of stdout");
  cli.Command(exp, [&cli, ex] { return RunExport(cli, *ex); });

  auto im = std::make_shared<ImportArgs>();
  auto* imp = admin.add_subcommand(
      "import", "load an export into a new, empty data directory (parleyd stopped)");
  imp->add_option("--data", im->data, "the new server's data directory (default ./data)");
  imp->add_option("--in", im->in, "read FILE instead of stdin");
  cli.Command(imp, [&cli, im] { return RunImport(cli, *im); });
}

}  // namespace parley::cli
