// ChildProcess: a program run as a child with a pipe to its stdin and one from its stdout,
// read line by line with a deadline — for tests that drive a helper process (e.g. the
// fault_clients run inside a network namespace through `ip netns exec`) and parse what it
// prints. stderr goes to a log file (or is inherited). Killed and reaped at destruction.
//
// Thread-safety: ReadLine from one thread; WriteLine, Signal, Kill and Wait from one
// (possibly other) thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace parley::test {

class ChildProcess {
 public:
  // argv[0] is looked up in PATH when it has no '/'. stderr_path empty: inherited.
  // stdout_path set: its stdout goes to that file instead of the pipe (a chatty child that
  // nobody reads must not block on a full pipe).
  static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                    const std::string& stderr_path = "",
                                    const std::string& stdout_path = "");
  ChildProcess() = default;  // no process
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILL (after SIGCONT, in case it was stopped) and reap

  pid_t pid() const { return pid_; }
  // The next line of its stdout without the newline; nullopt at the end of its output or
  // when `timeout` passed first.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  bool eof() const { return eof_; }
  // Writes `line` and a newline to its stdin; false if the pipe is closed.
  bool WriteLine(const std::string& line);
  void CloseStdin();
  void Signal(int sig);
  // Waits up to `timeout` for it to exit; its exit code (128+N for signal N), or an error.
  Result<int> Wait(std::chrono::milliseconds timeout);
  void Kill();

 private:
  void Reset();

  pid_t pid_ = -1;
  int in_fd_ = -1;   // its stdin
  int out_fd_ = -1;  // its stdout
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace parley::test
