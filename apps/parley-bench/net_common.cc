#include "net_common.h"

#include <fstream>
#include <iterator>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace parley::bench {

const char kBenchConfig[] =
    "[accounts]\npassword_hash = \"min\"\n"
    "[limits]\nsend_rate_per_conn = 0\nsend_rate_per_user = 0\nauth_rate_per_conn = 0\n"
    // Every bench connection comes from 127.0.0.x: no per-address limits.
    "max_connections_per_ip = 0\nhandshake_rate_per_ip = 0\n"
    "register_rate_per_ip = 0\n"
    // The idle scenario logs every connection in with one token: no per-user session cap.
    "max_sessions_per_user = 0\n";

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

Result<Target> OpenTarget(const NetOptions& options) {
  Target t;
  if (!options.server.empty()) {
    t.url = options.server;
    t.pid = options.server_pid;
    return t;
  }
  testing::ServerOptions so;
  so.config_toml = kBenchConfig;
  if (!options.server_config_file.empty()) {
    std::ifstream in(options.server_config_file);
    if (!in) return Status(Code::kInvalidArgument, "cannot read " + options.server_config_file);
    so.config_toml += "\n" + std::string(std::istreambuf_iterator<char>(in), {});
  }
  PARLEY_ASSIGN_OR_RETURN(t.process, testing::ServerProcess::Start(so));
  t.url = t.process->url();
  t.pid = t.process->pid();
  fmt::print("started a private parleyd (pid {}) at {} (fsync on)\n", t.pid, t.url);
  return t;
}

ProbeOptions ProbeOptionsFor(const Target& target, const NetOptions& options) {
  return ProbeOptions{target.url, options.metrics_url, target.pid, options.perf};
}

Result<std::vector<Account>> Provision(const std::string& url, const std::string& prefix,
                                       int count) {
  std::vector<Account> out(count);
  std::vector<Status> errors(count);
  // Two connections in parallel: hashing is CPU-bound on the server.
  auto work = [&](int begin, int step) {
    client::ConnectOptions o;
    o.url = url;
    client::BlockingClient c(o, std::chrono::seconds(60));
    if (Status st = c.Connect(); !st.ok()) {
      for (int i = begin; i < count; i += step) errors[i] = st;
      return;
    }
    for (int i = begin; i < count; i += step) {
      std::string name = prefix + std::to_string(i);
      std::string password = name + "-bench-password";
      auto reg = c.Register(name, password);
      if (!reg.ok() && reg.status().code() != Code::kAlreadyExists) {
        errors[i] = reg.status();
        continue;
      }
      // Logins happen on fresh connections: one connection may log in only once.
      client::BlockingClient lc(o, std::chrono::seconds(60));
      if (Status st = lc.Connect(); !st.ok()) {
        errors[i] = st;
        continue;
      }
      auto login = lc.Login(name, password, "bench");
      if (!login.ok()) {
        errors[i] = login.status();
        continue;
      }
      out[i] = Account{login->user, login->name, login->token, login->device};
    }
  };
  std::thread t1(work, 0, 2), t2(work, 1, 2);
  t1.join();
  t2.join();
  for (auto& e : errors) {
    if (!e.ok()) return e;
  }
  return out;
}

bool ParseBody(const std::string& body, int* sender, uint64_t* n, int64_t* sent_nanos) {
  char* end = nullptr;
  const char* p = body.c_str();
  *sender = static_cast<int>(std::strtol(p, &end, 10));
  if (*end != ':') return false;
  *n = std::strtoull(end + 1, &end, 10);
  if (*end != ':') return false;
  *sent_nanos = std::strtoll(end + 1, &end, 10);
  return *end == '\0';
}

}  // namespace parley::bench
