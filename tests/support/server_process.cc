#include "tests/support/server_process.h"

#include "client/http_request.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace parley::testing {
namespace fs = std::filesystem;
Result<std::unique_ptr<ServerProcess>> ServerProcess::Start(ServerOptions options) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  if (options.parleyd_path.empty()) {
#ifdef PARLEYD_PATH
    options.parleyd_path = PARLEYD_PATH;
#endif
  }
  p->options_ = std::move(options);
  PARLEY_ASSIGN_OR_RETURN(auto work, test::TempDir::Create("parley-test-"));
  p->work_dir_ = work.path();
  p->work_.emplace(std::move(work));
  if (p->options_.data_dir.empty()) {
    p->data_dir_ = p->work_dir_ + "/data";  // removed with the work directory
  } else {
    p->data_dir_ = p->options_.data_dir;
  }
  p->port_ = p->options_.port;
  PARLEY_RETURN_IF_ERROR(p->Launch());
  return p;
}

Status ServerProcess::Launch() {
  const std::string port_file = work_dir_ + "/port";
  fs::remove(port_file);
  std::vector<std::string> args = {options_.parleyd_path, "--data", data_dir_, "--port-file",
                                   port_file};
  // Port 0 lets the server pick; a restart reuses the port the first run got.
  args.push_back("--listen");
  args.push_back("127.0.0.1:" + std::to_string(port_));
  if (!options_.config_toml.empty()) {
    // 0600: parleyd refuses a config file holding an [admin] token that others can read.
    const std::string config = work_dir_ + "/parleyd.toml";
    std::ofstream(config) << options_.config_toml;
    fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace);
    args.push_back("--config");
    args.push_back(work_dir_ + "/parleyd.toml");
  }
  for (const auto& a : options_.args) args.push_back(a);

  // Built before fork: the child only execs.
  std::vector<std::string> extra = options_.env;
  if (!options_.preload.empty()) {
    extra.push_back("LD_PRELOAD=" + options_.preload);
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string inherited = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
    extra.push_back("ASAN_OPTIONS=" + inherited + "verify_asan_link_order=0");
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    const bool replaced = std::any_of(extra.begin(), extra.end(),
                                      [&](const std::string& o) { return o.rfind(name, 0) == 0; });
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const std::string log = work_dir_ + "/parleyd.log";
  pid_t pid = fork();
  if (pid < 0) return Status(Code::kIOError, "fork failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  pid_ = pid;

  auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      return Status(Code::kUnavailable, "parleyd exited during start-up:\n" + text.str());
    }
    std::ifstream in(port_file);
    unsigned port = 0;
    if (in >> port && port > 0) {
      port_ = static_cast<uint16_t>(port);
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval
  }
  Kill();
  return Status(Code::kUnavailable, "parleyd did not become ready in time");
}

ServerProcess::~ServerProcess() { Kill(); }  // then work_ removes the work directory

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int wstatus = 0;
  waitpid(pid_, &wstatus, 0);
  pid_ = -1;
}

Result<int> ServerProcess::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return Status(Code::kFailedPrecondition, "not running");
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return Status(Code::kUnavailable, "parleyd did not stop within the timeout");
}

Status ServerProcess::Restart() {
  if (pid_ > 0) return Status(Code::kFailedPrecondition, "still running");
  return Launch();
}

size_t ServerProcess::RssKib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

Result<std::string> ServerProcess::HttpGet(const std::string& path, int* status_code) const {
  client::HttpRequestSpec spec;
  spec.port = port_;
  spec.path = path;
  PARLEY_ASSIGN_OR_RETURN(client::HttpResponse r, client::HttpRequest(spec));
  if (status_code) *status_code = r.status;
  return std::move(r.body);
}

}  // namespace parley::testing
