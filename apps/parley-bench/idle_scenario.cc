// `idle`: many authenticated, idle WebSocket connections, spread over several client
// processes and 127.0.0.x source addresses (one process may hold < 20,000 sockets here);
// reports how much server memory each connection costs. With --deflate the clients offer
// permessage-deflate as browsers do, and against a private parleyd the scenario runs
// twice, on a fresh server each time (freed memory stays in the server's heap, so a
// second phase on the same server would look cheaper): without and with compression.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
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
[[noreturn]] void Child(const std::string& url, const std::string& token, int count, bool deflate,
                        const std::string& source, int report, int hold) {
  RaiseFdLimit();
  client::EventLoop loop(1);
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::string first_error;  // guarded by mu
  auto fail = [&](const Status& st) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = st.ToString();
    ++failed;
  };
  std::vector<std::shared_ptr<client::Connection>> conns;
  conns.reserve(count);
  for (int i = 0; i < count; ++i) {
    // At most 256 handshakes in flight, so neither the accept backlog nor the server's
    // handshake timeout is overrun on a loaded machine (bounded wait).
    for (int w = 0; w < 30000 && i - (ok + failed) > 256; ++w) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    client::ConnectOptions o;
    o.url = url;
    o.bind_address = source;
    o.permessage_deflate = deflate;
    o.connect_timeout_ms = 30000;
    auto c = client::Connection::Create(loop, o);
    conns.push_back(c);
    c->Connect([&, c](Status st) {
      if (!st.ok()) return fail(st);
      c->Call(
          "auth", [&token](JsonWriter& w) { w.Key("token").String(token); },
          [&](Result<std::string> r, int64_t) { r.ok() ? void(++ok) : fail(r.status()); });
    });
  }
  for (int w = 0; w < 6000 && ok + failed < count; ++w)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (failed > 0) {
    std::lock_guard<std::mutex> lock(mu);
    fmt::print(stderr, "idle: {} of {} connections from {} failed, first: {}\n", failed.load(),
               count, source, first_error);
  }
  int n = ok.load();
  if (::write(report, &n, sizeof(n)) != sizeof(n)) _exit(1);
  // Held until the parent closes the pipe; the loop keeps answering server pings.
  char b;
  while (::read(hold, &b, 1) > 0) {
  }
  _exit(0);
}

struct Phase {
  int connected = 0;
  size_t rss_before_kib = 0;
  size_t rss_after_kib = 0;
  double per_conn_kib() const {
    return connected > 0
               ? static_cast<double>(rss_after_kib - std::min(rss_after_kib, rss_before_kib)) /
                     connected
               : 0;
  }
};

// One measurement: `o.connections` authenticated connections held for `o.seconds`.
Result<Phase> Measure(const NetOptions& o, bool deflate) {
  auto target = OpenTarget(o);
  if (!target.ok()) return target.status();
  if (target->pid <= 0) {
    return Status(Code::kInvalidArgument, "idle needs the server's pid: pass --pid with --server");
  }
  PARLEY_ASSIGN_OR_RETURN(auto accounts,
                          Provision(target->url, fmt::format("i{}x", NowNanos() % 1000003), 1));
  const std::string token = accounts[0].token;
  int processes = o.processes > 0 ? o.processes : (o.connections + kPerProcess - 1) / kPerProcess;
  fmt::print("idle: {} connections{} over {} client processes, held {} s\n", o.connections,
             deflate ? " offering permessage-deflate" : "", processes, o.seconds);

  Phase phase;
  phase.rss_before_kib = RssKib(target->pid);
  int hold[2];
  if (pipe(hold) != 0) return Status(Code::kIOError, "pipe");
  std::vector<int> reports;
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    int count = o.connections / processes + (p < o.connections % processes ? 1 : 0);
    int report[2];
    if (pipe(report) != 0) return Status(Code::kIOError, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
      close(hold[1]);
      close(report[0]);
      Child(target->url, token, count, deflate, fmt::format("127.0.0.{}", 2 + p % 250), report[1],
            hold[0]);
    }
    close(report[1]);
    reports.push_back(report[0]);
    children.push_back(pid);
  }
  close(hold[0]);
  for (int fd : reports) {
    int n = 0;
    if (::read(fd, &n, sizeof(n)) == sizeof(n)) phase.connected += n;
    close(fd);
  }
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_until(start +
                                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(o.seconds)));
  phase.rss_after_kib = RssKib(target->pid);
  close(hold[1]);  // children exit
  for (pid_t c : children) waitpid(c, nullptr, 0);
  return phase;
}

void Print(const char* label, const Phase& p) {
  fmt::print("{:<34} {:>12}\n", fmt::format("{}connections", label), p.connected);
  fmt::print("{:<34} {:>12}\n", fmt::format("{}server_rss_before_kib", label), p.rss_before_kib);
  fmt::print("{:<34} {:>12}\n", fmt::format("{}server_rss_after_kib", label), p.rss_after_kib);
  fmt::print("{:<34} {:>12.2f}\n", fmt::format("{}server_rss_per_conn_kib", label),
             p.per_conn_kib());
}

}  // namespace

int RunIdleScenario(const NetOptions& o) {
  // Both phases need a fresh server; an external one (--server) is measured once, in the
  // mode asked for.
  const bool both = o.deflate && o.server.empty();
  std::optional<Phase> plain, deflate;
  if (!o.deflate || both) {
    auto r = Measure(o, false);
    if (!r.ok()) return fmt::print(stderr, "{}\n", r.status().ToString()), 1;
    plain = *r;
  }
  if (o.deflate) {
    auto r = Measure(o, true);
    if (!r.ok()) return fmt::print(stderr, "{}\n", r.status().ToString()), 1;
    deflate = *r;
  }
  fmt::print("\n{:<34} {:>12}\n", "figure", "value");
  if (plain) Print("", *plain);
  if (deflate) Print("deflate_", *deflate);
  std::string json = fmt::format("{{\"scenario\":\"idle\",\"requested\":{}", o.connections);
  if (plain) {
    json +=
        fmt::format(",\"connections\":{},\"server_rss_per_conn_kib\":{:.2f},\"server_rss_kib\":{}",
                    plain->connected, plain->per_conn_kib(), plain->rss_after_kib);
  }
  if (deflate) {
    json += fmt::format(
        ",\"deflate_connections\":{},\"deflate_server_rss_per_conn_kib\":{:.2f},"
        "\"deflate_server_rss_kib\":{}",
        deflate->connected, deflate->per_conn_kib(), deflate->rss_after_kib);
  }
  fmt::print("{}}}\n", json);
  const bool all = (!plain || plain->connected == o.connections) &&
                   (!deflate || deflate->connected == o.connections);
  return all ? 0 : 1;
}

}  // namespace parley::bench
