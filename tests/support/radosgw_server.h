// RadosGw: Ceph's S3 gateway for tests — one monitor, one in-memory OSD and radosgw on
// loopback, started by scripts/radosgw.sh in a temporary directory (about 15 s), stopped
// when the test process ends. It checks SigV4 signatures for real, which an S3 mock does
// not. Shared() is the one instance of a process; each test uses its own bucket.
//
// Thread-safety: Shared() is safe to call from any thread; the object is immutable.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "s3/s3_client.h"
#include "tests/support/temp_dir.h"

namespace parley::test {

class RadosGw {
 public:
  static Result<std::unique_ptr<RadosGw>> Start();
  // The process-wide instance, started on first use; a failed start fails every caller.
  static Result<RadosGw*> Shared();
  ~RadosGw();  // scripts/radosgw.sh down

  const std::string& endpoint() const { return endpoint_; }
  // A client config for `bucket` with the gateway's S3 user.
  s3::S3Config Config(const std::string& bucket) const;

 private:
  RadosGw() = default;
  TempDir dir_{"parley-rgw-"};
  std::string endpoint_, access_key_, secret_key_, region_;
};

}  // namespace parley::test
