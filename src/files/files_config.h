// FilesConfig: the [attachments] table of the config file (docs/operations.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "s3/s3_client.h"

namespace parley::files {

struct FilesConfig {
  bool enabled = true;
  // "" (default): a local directory, `dir`; "s3://BUCKET/PREFIX": an S3 bucket reached
  // with `s3` (the [s3] table).
  std::string store;
  std::string dir;  // empty: DATA_DIR/attachments
  s3::S3Config s3;
  uint64_t max_file_bytes = 100ull << 20;
  uint64_t part_bytes = 8ull << 20;
  uint64_t quota_bytes = 1ull << 30;  // per user, uploads in progress included; 0: none
  int64_t upload_ttl_ms = 24LL * 3600 * 1000;
  int64_t retention_ms = 30LL * 24 * 3600 * 1000;
  int64_t presign_ttl_s = 300;
  uint64_t max_image_pixels = 50'000'000;
  uint64_t max_image_bytes = 50ull << 20;  // larger images are kept as files, unthumbnailed
  int64_t thumbnail_timeout_ms = 5000;
  int64_t collect_every_ms = 3600LL * 1000;
  size_t threads = 2;      // uploads, downloads' checks, thumbnails
  size_t max_queued = 64;  // requests waiting for a thread; more: 429
};

}  // namespace parley::files
