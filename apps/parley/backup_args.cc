#include "backup_args.h"

namespace parley::cli {

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

}  // namespace parley::cli
