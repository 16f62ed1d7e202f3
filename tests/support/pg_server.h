// PgServer: a private PostgreSQL 15 for tests — initdb in a temporary directory, the
// server on a free loopback port, stopped and removed with the object.
//
// PostgreSQL refuses to run as root: when the test runs as root, initdb and postgres run
// as the `postgres` system user (created by Debian's postgresql-15 package), which owns
// the directory. Readiness is polled (PQping) under a deadline.
//
// Shared() is the one instance of a test process that suites share (each test takes its
// own schema): it runs with fsync off, since the suites that use it check semantics, not
// crash safety; tests of durability start their own with `durable = true`.
//
// Thread-safety: Start/Stop/Kill from one thread; Url() from any.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "tests/support/temp_dir.h"

namespace parley::test {

class PgServer {
 public:
  struct Options {
    bool durable = false;  // fsync and synchronous_commit on
    int max_connections = 200;
  };

  static Result<std::unique_ptr<PgServer>> Start(const Options& options);
  // Started on first use; aborts the test process if PostgreSQL cannot start.
  static PgServer& Shared();
  ~PgServer();

  // A libpq URL of database `parley` (created at start) as user `parley`.
  std::string Url() const;
  uint16_t port() const { return port_; }
  // SIGKILL, then start again on the same directory and port (crash recovery runs).
  Status Restart();
  void Kill();

 private:
  PgServer() = default;
  Status Launch();
  Status WaitReady(int timeout_ms);

  Options options_;
  std::optional<TempDir> dir_;
  std::string data_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace parley::test
