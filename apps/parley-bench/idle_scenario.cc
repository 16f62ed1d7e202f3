// `idle`: many authenticated, idle WebSocket connections, spread over several client
// processes and 127.0.0.x source addresses (one process may hold < 20,000 sockets here);
// reports how much server memory each connection costs.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "client/connection.h"
#include "net_common.h"

namespace parley::bench {
namespace {

constexpr int kPerProcess = 9000;

size_t RssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Child: opens `count` connections from `source`, authenticates them, writes the number
// that made it to `report`, then holds them until the parent closes `hold`.
[[noreturn]] void Child(const std::string& url, const std::string& token, int count,
                        const std::string& source, int report, int hold) {
  RaiseFdLimit();
  client::EventLoop loop(1);
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::shared_ptr<client::Connection>> conns;
  conns.reserve(count);
  for (int i = 0; i < count; ++i) {
    client::ConnectOptions o;
    o.url = url;
    o.bind_address = source;
    auto c = client::Connection::Create(loop, o);
    conns.push_back(c);
    c->Connect([&, c](Status st) {
      if (!st.ok()) return void(++failed);
      c->Call(
          "auth", [&token](JsonWriter& w) { w.Key("token").String(token); },
          [&](Result<std::string> r, int64_t) { r.ok() ? ++ok : ++failed; });
    });
    // Pace the handshakes a little so the accept backlog is not overrun.
    if (i % 500 == 499) {
      for (int w = 0; w < 500 && ok + failed < i - 200; ++w)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  for (int w = 0; w < 6000 && ok + failed < count; ++w)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int n = ok.load();
  if (::write(report, &n, sizeof(n)) != sizeof(n)) _exit(1);
  // Held until the parent closes the pipe; the loop keeps answering server pings.
  char b;
  while (::read(hold, &b, 1) > 0) {
  }
  _exit(0);
}

}  // namespace

int RunIdleScenario(const NetOptions& opt) {
  NetOptions o = opt;
  auto target = OpenTarget(o);
  if (!target.ok()) return fmt::print(stderr, "{}\n", target.status().ToString()), 1;
  if (target->pid <= 0) {
    fmt::print(stderr, "idle needs the server's pid: pass --pid with --server\n");
    return 2;
  }
  auto accounts = Provision(target->url, fmt::format("i{}x", NowNanos() % 1000003), 1);
  if (!accounts.ok()) return fmt::print(stderr, "{}\n", accounts.status().ToString()), 1;
  const std::string token = (*accounts)[0].token;
  int processes = o.processes > 0 ? o.processes : (o.connections + kPerProcess - 1) / kPerProcess;
  fmt::print("idle: {} connections over {} client processes, held {} s\n", o.connections, processes,
             o.seconds);

  const size_t rss_before = RssKib(target->pid);
  int hold[2];
  if (pipe(hold) != 0) return 1;
  std::vector<int> reports;
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    int count = o.connections / processes + (p < o.connections % processes ? 1 : 0);
    int report[2];
    if (pipe(report) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
      close(hold[1]);
      close(report[0]);
      Child(target->url, token, count, fmt::format("127.0.0.{}", 2 + p % 250), report[1], hold[0]);
    }
    close(report[1]);
    reports.push_back(report[0]);
    children.push_back(pid);
  }
  close(hold[0]);
  int connected = 0;
  for (int fd : reports) {
    int n = 0;
    if (::read(fd, &n, sizeof(n)) == sizeof(n)) connected += n;
    close(fd);
  }
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_until(start +
                                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(o.seconds)));
  const size_t rss_after = RssKib(target->pid);
  close(hold[1]);  // children exit
  for (pid_t c : children) waitpid(c, nullptr, 0);

  double per_conn =
      connected > 0 ? static_cast<double>(rss_after - std::min(rss_after, rss_before)) / connected
                    : 0;
  fmt::print("\n{:<26} {:>12}\n", "figure", "value");
  fmt::print("{:<26} {:>12}\n", "connections", connected);
  fmt::print("{:<26} {:>12}\n", "server_rss_before_kib", rss_before);
  fmt::print("{:<26} {:>12}\n", "server_rss_after_kib", rss_after);
  fmt::print("{:<26} {:>12.2f}\n", "server_rss_per_conn_kib", per_conn);
  fmt::print(
      "{{\"scenario\":\"idle\",\"connections\":{},\"requested\":{},\"server_rss_per_conn_kib\":{:."
      "2f},"
      "\"server_rss_kib\":{}}}\n",
      connected, o.connections, per_conn, rss_after);
  return connected == o.connections ? 0 : 1;
}

}  // namespace parley::bench
