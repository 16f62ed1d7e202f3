// The options of `parley admin backup …`, shared by the commands that ask the server
// (create, list: cmd_backup.cc) and those that work on the target (list --target, verify,
// restore, keygen: parley-admin), so both binaries accept the same command lines.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace parley::cli {

struct BackupArgs {
  std::string target;                   // --target DIR or s3://BUCKET/PREFIX
  std::string s3_endpoint;              // --s3-endpoint URL (s3:// targets)
  std::string s3_region = "us-east-1";  // --s3-region
  std::string key_file;                 // --key FILE
  std::string admin_url;
  std::string token_file;
  std::string id;
  std::string to;
  bool full = false;
  double wait_s = 3600;
};

// --target (required or not) and --key.
void AddTargetOptions(CLI::App* sub, BackupArgs& a, bool required);
// --admin-url and --token-file.
void AddServerOptions(CLI::App* sub, BackupArgs& a);

}  // namespace parley::cli
