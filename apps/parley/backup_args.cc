#include "backup_args.h"

namespace parley::cli {

void AddTargetOptions(CLI::App* sub, BackupArgs& a, bool required) {
  auto* opt = sub->add_option("--target", a.target,
                              "the backup target: a directory, or s3://BUCKET/PREFIX");
  if (required) opt->required();
  sub->add_option("--s3-endpoint", a.s3_endpoint,
                  "an s3:// target's service, http(s)://HOST[:PORT] (credentials from "
                  "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  sub->add_option("--s3-region", a.s3_region, "an s3:// target's region (default us-east-1)");
  sub->add_option("--key", a.key_file, "the key file of encrypted backups (64 hex digits)");
}

void AddServerOptions(CLI::App* sub, BackupArgs& a) {
  sub->add_option("--admin-url", a.admin_url,
                  "http[s]://HOST:PORT of parleyd (default: the --server address)");
  sub->add_option("--token-file", a.token_file,
                  "a file holding the [admin] token (default: $PARLEY_ADMIN_TOKEN)");
}

}  // namespace parley::cli
