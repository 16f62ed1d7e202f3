#include "tests/support/radosgw_server.h"

#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

#include "tests/support/command.h"
#include "tests/support/ports.h"

#ifndef PARLEY_SOURCE_DIR
#error "PARLEY_SOURCE_DIR must name the repository (tests/support/CMakeLists.txt)"
#endif

namespace parley::test {

namespace {
const std::string kScript = std::string(PARLEY_SOURCE_DIR) + "/scripts/radosgw.sh";
}  // namespace

Result<std::unique_ptr<RadosGw>> RadosGw::Start() {
  auto gw = std::unique_ptr<RadosGw>(new RadosGw());
  std::string out;
  int rc = -1;
  // The monitor takes PORT+1: a port pair can be taken between the check and the bind.
  for (int attempt = 0; attempt < 3 && rc != 0; ++attempt) {
    PARLEY_ASSIGN_OR_RETURN(uint16_t port, FreeLoopbackPort());
    const std::string dir = gw->dir_.Sub("ceph" + std::to_string(attempt));
    rc = RunCommand(kScript + " up " + dir + " " + std::to_string(port) + " 2>&1", &out);
    if (rc != 0) {
      RunCommand(kScript + " down " + dir + " 2>&1");
      continue;
    }
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "endpoint") gw->endpoint_ = value;
      if (key == "access_key") gw->access_key_ = value;
      if (key == "secret_key") gw->secret_key_ = value;
      if (key == "region") gw->region_ = value;
    }
  }
  if (rc != 0) return Status(Code::kUnavailable, "radosgw did not start:\n" + out);
  if (gw->endpoint_.empty() || gw->secret_key_.empty()) {
    return Status(Code::kInternal, "radosgw.sh printed no endpoint or keys:\n" + out);
  }
  return gw;
}

Result<RadosGw*> RadosGw::Shared() {
  static std::once_flag once;
  static std::unique_ptr<RadosGw> instance;
  static Status failure;
  std::call_once(once, [] {
    auto gw = Start();
    if (gw.ok()) {
      instance = std::move(*gw);
    } else {
      failure = gw.status();
    }
  });
  if (!instance) return failure;
  return instance.get();
}

RadosGw::~RadosGw() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    RunCommand(kScript + " down " + dir_.Sub("ceph" + std::to_string(attempt)) + " 2>&1");
  }
}

s3::S3Config RadosGw::Config(const std::string& bucket) const {
  s3::S3Config c;
  c.endpoint = endpoint_;
  c.region = region_;
  c.bucket = bucket;
  c.path_style = true;
  c.credentials = s3::Credentials{access_key_, secret_key_, ""};
  return c;
}

}  // namespace parley::test
