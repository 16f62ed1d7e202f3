// RedisServer: a private redis-server (Debian's, /usr/bin/redis-server) for tests — on a
// free loopback port, in a temporary directory, with persistence off (`--save ''
// --appendonly no`), readiness polled with PING under a deadline. Stop() and Start()
// again reuse the port, to test reconnects. Killed in the destructor. Never the system
// instance.
//
// Thread-safety: one owner thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/temp_dir.h"

namespace parley::testing {

class RedisServer {
 public:
  // Starts one; fails if redis-server is missing or does not answer PING in time.
  static Result<std::unique_ptr<RedisServer>> Launch(
      std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));
  ~RedisServer();  // SIGKILL

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  // SIGKILL and reap (everything in memory is gone, as after a crash).
  void Stop();
  // Starts again on the same port and waits for PING.
  Status Start(std::chrono::milliseconds ready_timeout = std::chrono::seconds(10));

  // Runs one command synchronously (a test's own client, not the code under test);
  // returns the reply as text (integers in decimal, arrays joined by '\n', nil as "").
  Result<std::string> Command(const std::vector<std::string>& args) const;

 private:
  RedisServer() = default;

  test::TempDir dir_{"parley-redis-"};
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace parley::testing
