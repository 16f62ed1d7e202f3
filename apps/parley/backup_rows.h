// One backup as a row of `parley admin backup list` (and the answer of `create`): from the
// server's JSON (here) or a target's manifest (parley-admin), printed as a table or as
// --json lines. Both binaries print them alike.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"

namespace parley::cli {

// id, time, kind, parent, size, stored, messages, duration.
struct BackupRow {
  std::string id, kind, parent;
  int64_t created_ms = 0;
  uint64_t bytes = 0, stored_bytes = 0, new_bytes = 0, messages = 0;
  double seconds = 0;
  bool encrypted = false;
  std::string error;  // not empty: the object is not a valid backup (listed with why)
};

// "12.3 MiB".
std::string MiB(uint64_t bytes);

// A row from the server's JSON (POST /admin/backup, GET /admin/backups).
BackupRow BackupRowOf(const nlohmann::json& j);
nlohmann::json JsonOf(const BackupRow& r);

// A table (or "no backups"), or one JSON object per row with --json.
void PrintBackupRows(Cli& cli, const std::vector<BackupRow>& rows);

}  // namespace parley::cli
