#include "admin_exec.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

namespace parley::cli {

CLI::App* AddParleyAdminCommand(CLI::App& parent, Cli& cli, const OfflineCommand& command) {
  auto* sub = parent.add_subcommand(command.name,
                                    std::string(command.description) + " (runs parley-admin)");
  // Everything after the name is parley-admin's to parse: no options of its own, no
  // --help, nothing handed up to `parley`'s options (the same argv goes over whole).
  sub->prefix_command();
  sub->allow_extras();
  sub->fallthrough(false);
  sub->set_help_flag();
  cli.Command(sub, [&cli] { return RunParleyAdmin(cli); });
  return sub;
}

std::string ParleyAdminPath() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  // Without /proc: a name on $PATH, as a shell would find it.
  if (ec) return kParleyAdminBinary;
  return (self.parent_path() / kParleyAdminBinary).string();
}

int RunParleyAdmin(Cli& cli) {
  const std::string path = ParleyAdminPath();
  std::vector<char*> argv;
  for (std::string& arg : cli.args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::fflush(nullptr);
  if (path.find('/') == std::string::npos) {
    ::execvp(path.c_str(), argv.data());
  } else {
    ::execv(path.c_str(), argv.data());
  }
  const int err = errno;  // only reached when exec failed
  return cli.Fail(Status(Code::kFailedPrecondition,
                         "this command runs " + std::string(kParleyAdminBinary) + ", expected at " +
                             path + ": " + std::strerror(err) + " (install it beside parley)"));
}

}  // namespace parley::cli
