// ServerProcess: a real `parleyd` child process for integration tests and benchmarks —
// started on a free loopback port with its own temporary data directory, polled for
// readiness with a deadline (never a fixed sleep), stopped with SIGTERM or killed.
//
// Thread-safety: one owner thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/temp_dir.h"

namespace parley::testing {

struct ServerOptions {
  std::string parleyd_path;       // default: the PARLEYD_PATH compile definition
  std::string data_dir;           // empty: a new temporary directory, removed at the end
  std::string config_toml;        // extra config file contents (may be empty)
  uint16_t port = 0;              // 0: any free port
  std::vector<std::string> args;  // extra command-line arguments
  // Extra "NAME=value" entries for parleyd's environment, replacing inherited ones of the
  // same name (e.g. LD_PRELOAD of a fault-injecting library).
  std::vector<std::string> env;
  // A fault-injecting library for LD_PRELOAD; an ASan-built parleyd is told to accept it
  // ahead of its runtime (verify_asan_link_order=0 added to ASAN_OPTIONS).
  std::string preload;
  std::chrono::milliseconds ready_timeout{30000};
};

class ServerProcess {
 public:
  static Result<std::unique_ptr<ServerProcess>> Start(ServerOptions options);
  ~ServerProcess();  // kills the process if still running; removes a temporary data dir

  uint16_t port() const { return port_; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return data_dir_; }
  bool running() const { return pid_ > 0; }

  // SIGKILL (a crash) and reap.
  void Kill();
  // SIGTERM and wait up to `timeout`; returns the exit status (or an error on timeout).
  Result<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Starts again on the same data directory and port.
  Status Restart();

  // The server's resident memory in KiB, from /proc.
  size_t RssKib() const;
  // GET `path` over plain HTTP; returns the body (status in *status_code).
  Result<std::string> HttpGet(const std::string& path, int* status_code = nullptr) const;

 private:
  ServerProcess() = default;
  Status Launch();

  ServerOptions options_;
  std::string data_dir_;
  std::optional<test::TempDir> work_;  // holds the port file, config file, log and own data
  std::string work_dir_;               // its path
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace parley::testing
