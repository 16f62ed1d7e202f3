// parley-admin's command groups: the `parley admin` commands that open a data directory or
// a backup target themselves (apps/parley/offline_commands.h), one file each.
#pragma once

#include <CLI/CLI.hpp>

#include "cli.h"

namespace parley::cli {

void AddReindexCommand(CLI::App& admin, Cli& cli);        // admin reindex
void AddBackupTargetCommands(CLI::App& admin, Cli& cli);  // admin backup list|verify|restore|keygen
void AddAdminExportCommands(CLI::App& admin, Cli& cli);   // admin export, admin import

}  // namespace parley::cli
