#include "backup_rows.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "format.h"

namespace parley::cli {

std::string MiB(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

BackupRow BackupRowOf(const nlohmann::json& j) {
  BackupRow r;
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

nlohmann::json JsonOf(const BackupRow& r) {
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

void PrintBackupRows(Cli& cli, const std::vector<BackupRow>& rows) {
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

}  // namespace parley::cli
