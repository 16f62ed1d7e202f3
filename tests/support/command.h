// RunCommand: runs a shell command line (popen) and collects what it prints, for tests that
// drive the `parley` CLI as a user would.
//
// Thread-safety: safe from any thread; each call runs its own child.
#pragma once

#include <string>

namespace parley::test {

// Runs `command` with /bin/sh; its exit code (-1 if it could not start or did not exit
// normally), its standard output in *out (append "2>&1" to the command for stderr too).
int RunCommand(const std::string& command, std::string* out = nullptr);

}  // namespace parley::test
