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
// stdin is first copied to a temporary file. Files are owner-only (0600): an export holds
// password hashes and messages. FILE is written through a temporary file with a random
// name in its directory (O_EXCL|O_NOFOLLOW), fsync'd and renamed over FILE, so a symlink
// planted at FILE or at any temporary name is never followed or written through.
#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <streambuf>
#include <vector>

#include "admin_commands.h"
#include "backup/export.h"
#include "cli.h"
#include "common/files.h"
#include "common/text.h"
#include "offline_commands.h"
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
  return std::unique_ptr<Store>(std::move(store).value());
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

// A std::streambuf writing to an AtomicFile's descriptor, in 64 KiB pieces; the first
// write error is kept in `status`.
class AtomicFileBuf : public std::streambuf {
 public:
  explicit AtomicFileBuf(AtomicFile& file) : file_(file), buf_(64 << 10) {
    setp(buf_.data(), buf_.data() + buf_.size());
  }
  Status status = Status::Ok();

 protected:
  int_type overflow(int_type c) override {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    if (status.ok()) status = file_.Write(std::string_view(pbase(), pptr() - pbase()));
    setp(buf_.data(), buf_.data() + buf_.size());
    return status.ok() ? 0 : -1;
  }

 private:
  AtomicFile& file_;
  std::vector<char> buf_;
};

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
    auto file = AtomicFile::Create(args.out, kPrivateFileMode);
    if (!file.ok()) return cli.Fail(file.status());
    AtomicFileBuf buf(*file);
    std::ostream out(&buf);
    st = backup::Export(**store, scope, out, &stats);
    out.flush();
    if (st.ok() && !buf.status.ok()) st = buf.status;
    if (st.ok() && !out) st = Status(Code::kIOError, "writing " + file->temp_path() + " failed");
    if (st.ok()) st = file->Commit();  // on failure the temporary file goes with `file`
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
  // mkstemp: a new 0600 file with a random name, written through its own descriptor (never
  // reopened by name, which a planted symlink could redirect).
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return Status(Code::kIOError, "cannot create a temporary file for stdin");
  bool ok = true;
  std::vector<char> buf(64 << 10);
  while (ok && std::cin) {  // ends at end of input: every read consumes or fails
    std::cin.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(std::cin.gcount());
    for (size_t done = 0; ok && done < n;) {
      const ssize_t w = ::write(fd, buf.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      ok = w > 0;
      if (ok) done += static_cast<size_t>(w);
    }
  }
  ok = ::close(fd) == 0 && ok;
  if (!ok || std::cin.bad()) {
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
  auto* exp = admin.add_subcommand(kExportCommand.name, kExportCommand.description);
  exp->add_option("--data", ex->data, "the server's data directory (default ./data)");
  auto* user =
      exp->add_option("--user", ex->user, "only this user's conversations (a name or an id)");
  exp->add_option("--conv", ex->conv, "only this conversation")->excludes(user);
  exp->add_flag("--no-passwords", ex->no_passwords,
                "leave out password hashes (the imported accounts cannot log in)");
  exp->add_option(
      "--out", ex->out,
      "write to FILE (mode 0600, through a temporary file beside it) instead of stdout");
  cli.Command(exp, [&cli, ex] { return RunExport(cli, *ex); });

  auto im = std::make_shared<ImportArgs>();
  auto* imp = admin.add_subcommand(kImportCommand.name, kImportCommand.description);
  imp->add_option("--data", im->data, "the new server's data directory (default ./data)");
  imp->add_option("--in", im->in, "read FILE instead of stdin");
  cli.Command(imp, [&cli, im] { return RunImport(cli, *im); });
}

}  // namespace parley::cli
