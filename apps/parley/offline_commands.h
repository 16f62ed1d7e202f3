// The `parley admin` commands that parley-admin runs: they open a data directory or a
// backup target themselves, so they need the store, search and backup libraries, which
// the `parley` client does not link (issue 11). Their names and one-line descriptions
// are here once: parley-admin registers the commands under them, and `parley` lists them
// in its --help with " (runs parley-admin)" and hands them over (admin_exec.h).
//
// `admin backup list` is both: with --target it reads the target (parley-admin), without
// it asks the server (parley).
#pragma once

namespace parley::cli {

struct OfflineCommand {
  const char* name;
  const char* description;
};

// Under `admin`.
inline constexpr OfflineCommand kReindexCommand{"reindex",
                                                "rebuild the search index from the store"};
inline constexpr OfflineCommand kExportCommand{
    "export", "write users, conversations and messages as JSON Lines (parleyd stopped)"};
inline constexpr OfflineCommand kImportCommand{
    "import", "load an export into a new, empty data directory (parleyd stopped)"};

// Under `admin backup`.
inline constexpr OfflineCommand kVerifyCommand{"verify", "read a backup back and check every file"};
inline constexpr OfflineCommand kRestoreCommand{"restore",
                                                "restore a backup into an empty directory"};
inline constexpr OfflineCommand kKeygenCommand{"keygen", "write a new encryption key file"};

// The name of the binary, expected beside `parley`.
inline constexpr char kParleyAdminBinary[] = "parley-admin";

}  // namespace parley::cli
