// `parley admin backup …` on a backup target, run by parley-admin: they read the target
// directly, so they also work when the server is gone — which is when a restore is needed.
//
//   list --target DIR               the backups on the target, valid or not (and why)
//   verify [ID]                     reads every chunk of a backup back and checks it, per file
//   restore ID --to DIR             verifies, then writes the store files into an empty DIR
//   keygen --out FILE               a new 256-bit encryption key (mode 0600)
//
// `create` and `list` without --target ask the server: they are `parley`'s
// (apps/parley/cmd_backup.cc). Verify and restore print an `audit:` line on stderr.
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

#include "admin_commands.h"
#include "backup/backup.h"
#include "backup/codec.h"
#include "backup/target.h"
#include "backup_args.h"
#include "backup_rows.h"
#include "cli.h"
#include "common/clock.h"
#include "offline_commands.h"

namespace parley::cli {
namespace {

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
  if (a.target.empty()) {
    return Status(Code::kInvalidArgument, "--target DIR or s3://BUCKET/PREFIX is required");
  }
  const bool s3 = a.target.starts_with("s3://");
  if (!s3 && !std::filesystem::is_directory(a.target)) {
    return Status(Code::kInvalidArgument, "--target " + a.target + ": no such directory");
  }
  TargetAndKey out;
  // An s3:// target: the service from --s3-endpoint/--s3-region, the credentials from
  // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
  s3::S3Config service;
  service.endpoint = a.s3_endpoint;
  service.region = a.s3_region;
  PARLEY_ASSIGN_OR_RETURN(out.target, backup::OpenTarget(a.target, service));
  if (!a.key_file.empty()) {
    PARLEY_ASSIGN_OR_RETURN(backup::Key key, backup::LoadKey(a.key_file));
    out.key = key;
  }
  return out;
}

BackupRow RowOf(const backup::Manifest& m) {
  return {m.id,        m.kind,     m.parent,  m.created_ms, m.bytes, m.stored_bytes,
          m.new_bytes, m.messages, m.seconds, m.encrypted,  ""};
}

int List(Cli& cli, const BackupArgs& a) {
  auto t = OpenTarget(a);
  if (!t.ok()) return cli.Fail(t.status());
  auto all = backup::ListAll(*t->target, t->key, NowMillis());
  if (!all.ok()) return cli.Fail(all.status());
  std::vector<BackupRow> rows;
  for (const auto& entry : *all) {
    BackupRow r = RowOf(entry.manifest);
    r.id = entry.id;
    if (!entry.status.ok()) r.error = entry.status.ToString();
    rows.push_back(std::move(r));
  }
  PrintBackupRows(cli, rows);
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

}  // namespace

void AddBackupTargetCommands(CLI::App& admin, Cli& cli) {
  auto* backup = admin.add_subcommand("backup", "list, verify and restore backups on a target");
  backup->require_subcommand(1);
  auto a = std::make_shared<BackupArgs>();

  // `parley` hands `list` over only with --target; the server options are accepted as
  // there (and unused), so the same command line works in both.
  auto* list = backup->add_subcommand("list", "list the backups on --target");
  AddTargetOptions(list, *a, true);
  AddServerOptions(list, *a);
  cli.Command(list, [&cli, a] { return List(cli, *a); });

  auto* verify = backup->add_subcommand(kVerifyCommand.name, kVerifyCommand.description);
  verify->add_option("id", a->id, "the backup (default: the newest)");
  AddTargetOptions(verify, *a, true);
  cli.Command(verify, [&cli, a] { return Verify(cli, *a); });

  auto* restore = backup->add_subcommand(kRestoreCommand.name, kRestoreCommand.description);
  restore->add_option("id", a->id, "the backup, or \"latest\"")->required();
  restore->add_option("--to", a->to, "the new data directory (absent or empty)")->required();
  AddTargetOptions(restore, *a, true);
  cli.Command(restore, [&cli, a] { return Restore(cli, *a); });

  auto* keygen = backup->add_subcommand(kKeygenCommand.name, kKeygenCommand.description);
  auto out = std::make_shared<std::string>();
  keygen->add_option("--out", *out, "the key file to create (refuses to overwrite)")->required();
  cli.Command(keygen, [&cli, out] { return Keygen(cli, *out); });
}

}  // namespace parley::cli
