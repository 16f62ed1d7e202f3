// An S3 response body (src/s3/s3_xml.cc): expat reads what any S3-compatible service, or
// something pretending to be one, answers. Malformed XML is an error, never a crash.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto leaves = parley::s3::ParseXmlLeaves(body);
  if (!leaves.ok()) {
    FUZZ_CHECK(leaves.status().code() == parley::Code::kCorruption);
    return 0;
  }
  for (const char* path :
       {"Error/Code", "Error/Message", "ListBucketResult/Contents/Key",
        "ListBucketResult/NextContinuationToken", "InitiateMultipartUploadResult/UploadId"}) {
    (void)parley::s3::FirstText(*leaves, path);
  }
  return 0;
}
