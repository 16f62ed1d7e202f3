// The `parley admin` commands that parley-admin runs (offline_commands.h), the git way:
// `parley` lists them and, when one is chosen, replaces itself with the parley-admin
// binary found beside it (the directory of /proc/self/exe), passing the same command line.
// parley-admin parses it with the same global options and the same commands, so the
// output, --help and exit codes are those of the command itself.
//
// Thread-safety: called from main's thread before any other thread exists.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli.h"
#include "offline_commands.h"

namespace parley::cli {

// Registers `command` under `parent` with " (runs parley-admin)" after its description. It
// takes any arguments unparsed (parley-admin checks them, --help included); its action is
// RunParleyAdmin.
CLI::App* AddParleyAdminCommand(CLI::App& parent, Cli& cli, const OfflineCommand& command);

// Where parley-admin is expected: beside this binary.
std::string ParleyAdminPath();

// Replaces this process with parley-admin, with cli.args as its argv. Returns only if that
// fails: prints why (the expected path included) and returns 1.
int RunParleyAdmin(Cli& cli);

}  // namespace parley::cli
