// `parley admin backup …`: backups of a running server and work on a backup target.
//
//   create [--full]                 asks the running parleyd for a backup (POST /admin/backup)
//   list                            the backups: from the target (--target) or the server
//   verify [ID]                     reads every chunk of a backup back and checks it, per file
//   restore ID --to DIR             verifies, then writes the store files into an empty DIR
//   keygen --out FILE               a new 256-bit encryption key (mode 0600)
//
// `create` needs the server (its store is open there: only parleyd can take a consistent
// checkpoint) and the admin token: --token-file FILE or $PARLEY_ADMIN_TOKEN. `verify` and
// `restore` work on the target directly, so they also work when the server is gone —
// which is when a restore is needed. Each of them prints an `audit:` line on stderr.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "admin_http.h"
#include "backup/backup.h"
#include "backup/codec.h"
#include "backup/target.h"
#include "cli.h"
#include "common/clock.h"
#include "format.h"

namespace parley::cli {
namespace {

struct BackupArgs {
  std::string target;    // --target DIR
  std::string key_file;  // --key FILE
  std::string admin_url;
  std::string token_file;
  std::string id;
  std::string to;
  bool full = false;
  double wait_s = 3600;
};

std::string MiB(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

// The audit trail of the commands that touch backups: who, what, outcome (stderr, so
// that it reaches the operator's terminal or the job log, never the data on stdout).
void Audit(const std::string& what) {
  const char* user = std::getenv("USER");
  const time_t now = ::time(nullptr);
  struct tm utc {};
  ::gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &utc);
  fmt::print(stderr, "audit: {} user={} {}\n", stamp, user ? user : "unknown", what);
}

struct TargetAndKey {
  std::unique_ptr<backup::Target> target;
  std::optional<backup::Key> key;
};

Result<TargetAndKey> OpenTarget(const BackupArgs& a) {
  if (a.target.empty()) return Status(Code::kInvalidArgument, "--target DIR is required");
  if (!std::filesystem::is_directory(a.target)) {
    return Status(Code::kInvalidArgument, "--target " + a.target + ": no such directory");
  }
  TargetAndKey out;
  PARLEY_ASSIGN_OR_RETURN(out.target, backup::OpenDirTarget(a.target));
  if (!a.key_file.empty()) {
    PARLEY_ASSIGN_OR_RETURN(backup::Key key, backup::LoadKey(a.key_file));
    out.key = key;
  }
  return out;
}

Result<std::string> AdminToken(const BackupArgs& a) { return ReadAdminToken(a.token_file); }

Result<nlohmann::json> CallAdmin(Cli& cli, const BackupArgs& a, const std::string& token,
                                 const std::string& method, const std::string& path,
                                 int timeout_s) {
  return AdminCall(cli, a.admin_url, token, method, path, "", timeout_s);
}

// One backup as a row: id, time, kind, parent, size, stored, messages, duration.
struct Row {
  std::string id, kind, parent;
  int64_t created_ms = 0;
  uint64_t bytes = 0, stored_bytes = 0, new_bytes = 0, messages = 0;
  double seconds = 0;
  bool encrypted = false;
  std::string error;  // not empty: the object is not a valid backup (listed with why)
};

Row RowOf(const backup::Manifest& m) {
  return {m.id,        m.kind,     m.parent,  m.created_ms, m.bytes, m.stored_bytes,
          m.new_bytes, m.messages, m.seconds, m.encrypted,  ""};
}

Row RowOf(const nlohmann::json& j) {
  Row r;
  r.id = j.value("id", "");
  r.kind = j.value("kind", "");
  r.parent = j.value("parent", "");
  r.created_ms = j.value("created_ms", int64_t{0});
  r.bytes = j.value("bytes", uint64_t{0});
  r.stored_bytes = j.value("stored_bytes", uint64_t{0});
  r.new_bytes = j.value("new_bytes", uint64_t{0});
  r.messages = j.value("messages", uint64_t{0});
  r.seconds = j.value("seconds", 0.0);
  r.encrypted = j.value("encrypted", false);
  if (!j.value("valid", true)) r.error = j.value("error", "not a valid backup");
  return r;
}

nlohmann::json JsonOf(const Row& r) {
  if (!r.error.empty()) return {{"id", r.id}, {"valid", false}, {"error", r.error}};
  return {{"valid", true},
          {"id", r.id},
          {"created_ms", r.created_ms},
          {"kind", r.kind},
          {"parent", r.parent},
          {"encrypted", r.encrypted},
          {"messages", r.messages},
          {"bytes", r.bytes},
          {"new_bytes", r.new_bytes},
          {"stored_bytes", r.stored_bytes},
          {"seconds", r.seconds}};
}

void PrintRows(Cli& cli, const std::vector<Row>& rows) {
  if (cli.opts.json) {
    // Ids and reasons come from the target and may hold invalid UTF-8: replaced.
    for (const auto& r : rows) {
      cli.Out(JsonOf(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    return;
  }
  if (rows.empty()) return cli.Out("no backups");
  const int64_t now = NowMillis();
  cli.Out(fmt::format("{:<28} {:<17} {:<15} {:>12} {:>12} {:>10} {:>8}  {}", "ID", "TIME", "KIND",
                      "SIZE", "STORED", "MESSAGES", "SECONDS", "PARENT"));
  for (const auto& r : rows) {
    if (!r.error.empty()) {
      cli.Out(fmt::format("{:<28} INVALID: {}", r.id, r.error));
      continue;
    }
    cli.Out(fmt::format("{:<28} {:<17} {:<15} {:>12} {:>12} {:>10} {:>8.1f}  {}", r.id,
                        FormatTime(r.created_ms, now), r.kind + (r.encrypted ? "+enc" : ""),
                        MiB(r.bytes), MiB(r.stored_bytes), r.messages, r.seconds,
                        r.parent.empty() ? "-" : r.parent));
  }
}

int Create(Cli& cli, const BackupArgs& a) {
  const std::string path = a.full ? "/admin/backup?full=1" : "/admin/backup";
  auto token = AdminToken(a);
  if (!token.ok()) return cli.Usage(std::string(token.status().message()));
  auto res = CallAdmin(cli, a, *token, "POST", path, static_cast<int>(a.wait_s));
  if (!res.ok()) return cli.Fail(res.status());
  const Row r = RowOf(*res);
  if (cli.opts.json) {
    cli.Out(JsonOf(r).dump());
  } else {
    cli.Out(fmt::format("backup {} ({}{}): {} snapshot, {} new, {} stored, ~{} messages, {:.1f} s",
                        r.id, r.kind, r.encrypted ? ", encrypted" : "", MiB(r.bytes),
                        MiB(r.new_bytes), MiB(r.stored_bytes), r.messages, r.seconds));
  }
  return kExitOk;
}

int List(Cli& cli, const BackupArgs& a) {
  std::vector<Row> rows;
  if (a.target.empty()) {  // ask the server
    auto token = AdminToken(a);
    if (!token.ok()) return cli.Usage(std::string(token.status().message()));
    auto res =
        CallAdmin(cli, a, *token, "GET", "/admin/backups", static_cast<int>(cli.opts.timeout_s));
    if (!res.ok()) return cli.Fail(res.status());
    if (!res->is_array()) return cli.Fail(Status(Code::kIOError, "unexpected answer"));
    for (const auto& j : *res) rows.push_back(RowOf(j));
  } else {
    auto t = OpenTarget(a);
    if (!t.ok()) return cli.Fail(t.status());
    auto all = backup::ListAll(*t->target, t->key, NowMillis());
    if (!all.ok()) return cli.Fail(all.status());
    for (const auto& entry : *all) {
      Row r = RowOf(entry.manifest);
      r.id = entry.id;
      if (!entry.status.ok()) r.error = entry.status.ToString();
      rows.push_back(std::move(r));
    }
  }
  PrintRows(cli, rows);
  return kExitOk;
}

// "latest" or empty: the newest valid backup on the target (objects that fail to open or
// check, such as a forged manifest dated in the future, are never "latest").
Result<std::string> ResolveId(TargetAndKey& t, const std::string& id) {
  if (!id.empty() && id != "latest") return id;
  PARLEY_ASSIGN_OR_RETURN(auto all, backup::ListAll(*t.target, t.key, NowMillis()));
  if (all.empty()) return Status(Code::kNotFound, "the target holds no backups");
  // Invalid entries come first: the last one is valid if any is.
  if (!all.back().status.ok()) {
    return Status(all.back().status.code(),
                  "the target holds no valid backup: " + all.back().status.message());
  }
  return all.back().id;
}

int Verify(Cli& cli, const BackupArgs& a) {
  auto t = OpenTarget(a);
  if (!t.ok()) return cli.Fail(t.status());
  auto id = ResolveId(*t, a.id);
  if (!id.ok()) return cli.Fail(id.status());
  auto checks = backup::Verify(*t->target, *id, t->key);
  if (!checks.ok()) {
    Audit(fmt::format("verify {} on {}: FAILED: {}", *id, a.target, checks.status().ToString()));
    return cli.Fail(checks.status());
  }
  size_t bad = 0;
  for (const auto& c : *checks) {
    if (!c.status.ok()) ++bad;
    if (cli.opts.json) {
      cli.Out(nlohmann::json{{"file", c.path},
                             {"ok", c.status.ok()},
                             {"error", c.status.ok() ? "" : c.status.ToString()}}
                  .dump());
    } else {
      cli.Out(fmt::format("{:<4} {}{}", c.status.ok() ? "ok" : "BAD", c.path,
                          c.status.ok() ? "" : "  " + c.status.ToString()));
    }
  }
  Audit(fmt::format("verify {} on {}: {} files, {} bad", *id, a.target, checks->size(), bad));
  if (bad > 0) {
    return cli.Fail(Status(Code::kCorruption, fmt::format("backup {}: {} of {} files are damaged",
                                                          *id, bad, checks->size())));
  }
  if (!cli.opts.json) cli.Out(fmt::format("backup {}: all {} files verified", *id, checks->size()));
  return kExitOk;
}

int Restore(Cli& cli, const BackupArgs& a) {
  auto t = OpenTarget(a);
  if (!t.ok()) return cli.Fail(t.status());
  auto id = ResolveId(*t, a.id);
  if (!id.ok()) return cli.Fail(id.status());
  const auto start = std::chrono::steady_clock::now();
  Status st = backup::Restore(*t->target, *id, a.to, t->key);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Audit(fmt::format("restore {} from {} to {}: {}", *id, a.target, a.to,
                    st.ok() ? fmt::format("ok in {:.1f} s", seconds) : "FAILED: " + st.ToString()));
  if (!st.ok()) return cli.Fail(st);
  if (cli.opts.json) {
    cli.Out(nlohmann::json{{"restored", *id}, {"to", a.to}, {"seconds", seconds}}.dump());
  } else {
    cli.Out(fmt::format("restored backup {} into {} in {:.1f} s", *id, a.to, seconds));
    cli.Note(fmt::format("start it with: parleyd --data {}  (the search index is rebuilt on start)",
                         a.to));
  }
  return kExitOk;
}

int Keygen(Cli& cli, const std::string& out) {
  // O_EXCL: never overwrite a key — the backups made with it would become unreadable.
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return cli.Fail(Status(Code::kFailedPrecondition,
                           fmt::format("cannot create {}: {}", out, std::strerror(errno))));
  }
  const std::string hex = backup::NewKeyHex() + "\n";
  const bool ok =
      ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return cli.Fail(Status(Code::kIOError, "cannot write " + out));
  cli.Note(
      "keep a copy of this key somewhere else than the backups: without it they cannot be "
      "restored");
  cli.Out(cli.opts.json ? nlohmann::json{{"key_file", out}}.dump() : "new backup key in " + out);
  return kExitOk;
}

void AddTargetOptions(CLI::App* sub, BackupArgs& a, bool required) {
  auto* opt = sub->add_option("--target", a.target, "the backup target directory");
  if (required) opt->required();
  sub->add_option("--key", a.key_file, "the key file of encrypted backups (64 hex digits)");
}

void AddServerOptions(CLI::App* sub, BackupArgs& a) {
  sub->add_option("--admin-url", a.admin_url,
                  "http[s]://HOST:PORT of parleyd (default: the --server address)");
  sub->add_option("--token-file", a.token_file,
                  "a file holding the [admin] token (default: $PARLEY_ADMIN_TOKEN)");
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

  auto* list = backup->add_subcommand("list", "list backups (from --target, else the server)");
  AddTargetOptions(list, *a, false);
  AddServerOptions(list, *a);
  cli.Command(list, [&cli, a] { return List(cli, *a); });

  auto* verify = backup->add_subcommand("verify", "read a backup back and check every file");
  verify->add_option("id", a->id, "the backup (default: the newest)");
  AddTargetOptions(verify, *a, true);
  cli.Command(verify, [&cli, a] { return Verify(cli, *a); });

  auto* restore = backup->add_subcommand("restore", "restore a backup into an empty directory");
  restore->add_option("id", a->id, "the backup, or \"latest\"")->required();
  restore->add_option("--to", a->to, "the new data directory (absent or empty)")->required();
  AddTargetOptions(restore, *a, true);
  cli.Command(restore, [&cli, a] { return Restore(cli, *a); });

  auto* keygen = backup->add_subcommand("keygen", "write a new encryption key file");
  auto out = std::make_shared<std::string>();
  keygen->add_option("--out", *out, "the key file to create (refuses to overwrite)")->required();
  cli.Command(keygen, [&cli, out] { return Keygen(cli, *out); });
}

}  // namespace parley::cli
