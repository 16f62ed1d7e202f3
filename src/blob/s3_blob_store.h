// The S3 BlobStore: a BlobStore over S3Client, objects under `prefix` in the bucket.
#pragma once

#include <memory>
#include <string>

#include "blob/blob_store.h"
#include "s3/s3_client.h"

namespace parley::blob {

// `prefix` ("" or "parley/"): prepended to every key; Describe() shows it.
Result<std::unique_ptr<BlobStore>> OpenS3BlobStore(s3::S3Config config, std::string prefix);

}  // namespace parley::blob
