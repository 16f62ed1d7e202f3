#include "server_probe.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "client/http_request.h"
#include "client/url.h"

namespace parley::bench {
namespace {

// The stages in the order of the message path (metrics/stages.h); names not listed here
// (a newer server's) are printed after them, alphabetically.
const char* const kStageOrder[] = {"frame_parse", "queue_wait", "stage",     "store_write",
                                   "fsync",       "ack_post",   "ack_write", "feed_wait",
                                   "hub",         "push_post",  "push_write"};
const char kStageFamily[] = "parley_stage_seconds";
const char kFramesIn[] = "parley_frames_in_total";    // gateway/gateway_metrics.cc
const char kFramesOut[] = "parley_frames_out_total";  // gateway/gateway_metrics.cc
const char kPerfPath[] = "/usr/bin/perf";

std::string JsonNumber(std::optional<double> v, int decimals) {
  if (!v || !std::isfinite(*v)) return "null";
  return fmt::format("{:.{}f}", *v, decimals);
}
std::string Text(std::optional<double> v, int decimals) {
  if (!v || !std::isfinite(*v)) return "n/a";
  return fmt::format("{:.{}f}", *v, decimals);
}

// The HTTP request for /metrics: `metrics_url` if given (its path, or /metrics when it
// names none), else the WebSocket URL's host and port.
Result<client::HttpRequestSpec> MetricsRequest(const ProbeOptions& o) {
  const std::string& url = o.metrics_url.empty() ? o.server_url : o.metrics_url;
  PARLEY_ASSIGN_OR_RETURN(client::Url u, client::ParseHttpUrl(url));
  client::HttpRequestSpec spec;
  spec.host = u.host;
  spec.port = u.port;
  spec.tls = u.tls;
  spec.timeout_s = 5;
  const size_t scheme = url.find("://");
  const bool names_path =
      !o.metrics_url.empty() &&
      url.find('/', scheme == std::string::npos ? 0 : scheme + 3) != std::string::npos;
  spec.path = names_path ? u.path : "/metrics";
  return spec;
}

// Stages present in either scrape, in path order.
std::vector<std::string> StageNames(const std::map<std::string, PromHistogram>& after) {
  std::vector<std::string> names;
  std::set<std::string> listed;
  for (const char* s : kStageOrder) {
    listed.insert(s);
    if (after.count(s)) names.push_back(s);
  }
  for (const auto& [name, h] : after) {
    if (!listed.count(name)) names.push_back(name);
  }
  return names;
}

}  // namespace

std::optional<double> ProcessCpuSeconds(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  // Fields from 3 (state) on; utime is field 14, stime field 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  if (!fields) return std::nullopt;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

ServerProbe::ServerProbe(ProbeOptions options) : options_(std::move(options)) {}

ServerProbe::~ServerProbe() {
  if (perf_pid_ > 0) (void)StopPerf();
  if (!perf_out_.empty()) ::unlink(perf_out_.c_str());
}

std::optional<std::vector<PromSample>> ServerProbe::Scrape() {
  auto spec = MetricsRequest(options_);
  if (!spec.ok()) return metrics_note_ = spec.status().ToString(), std::nullopt;
  auto reply = client::HttpRequest(*spec);
  if (!reply.ok()) return metrics_note_ = reply.status().ToString(), std::nullopt;
  if (reply->status != 200) {
    metrics_note_ = fmt::format(
        "GET {} answered {} (is /metrics on another listener? "
        "see --metrics-url)",
        spec->path, reply->status);
    return std::nullopt;
  }
  auto samples = ParsePromText(reply->body);
  if (!samples.ok()) return metrics_note_ = samples.status().ToString(), std::nullopt;
  return std::move(*samples);
}

void ServerProbe::Begin() {
  before_ = Scrape();
  cpu_before_s_ = ProcessCpuSeconds(options_.pid);
  if (options_.perf && options_.pid > 0) StartPerf();
}

void ServerProbe::End() {
  if (perf_pid_ > 0) syscalls_ = StopPerf();
  cpu_after_s_ = ProcessCpuSeconds(options_.pid);
  if (before_) after_ = Scrape();
}

void ServerProbe::StartPerf() {
  char path[] = "/tmp/parley-bench-perf-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return;
  ::close(fd);
  perf_out_ = path;
  const std::string pid = std::to_string(options_.pid);
  perf_pid_ = fork();
  if (perf_pid_ == 0) {
    // perf's own chatter would interleave with the report.
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd < 0 || ::dup2(null_fd, STDOUT_FILENO) < 0) _exit(127);
    execl(kPerfPath, "perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p", pid.c_str(), "-o",
          path, static_cast<char*>(nullptr));
    _exit(127);
  }
  if (perf_pid_ < 0) return;
  // perf writes its header once it has opened the output and attached: wait for it
  // (bounded), so that the window's first calls are counted.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  struct stat st {};
  while (std::chrono::steady_clock::now() < deadline) {
    if (::stat(path, &st) == 0 && st.st_size > 0) break;
    if (waitpid(perf_pid_, nullptr, WNOHANG) == perf_pid_) {  // perf gave up
      perf_pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling, bounded above
  }
}

std::optional<double> ServerProbe::StopPerf() {
  const pid_t pid = perf_pid_;
  perf_pid_ = -1;
  ::kill(pid, SIGINT);
  int status = 0;
  bool reaped = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!reaped && std::chrono::steady_clock::now() < deadline) {
    reaped = waitpid(pid, &status, WNOHANG) == pid;
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!reaped) {
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return std::nullopt;
  }
  // "COUNT,,raw_syscalls:sys_enter,…"; "<not counted>" or "<not supported>" instead of
  // a count when perf could not count.
  std::ifstream in(perf_out_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.find("raw_syscalls:sys_enter") == std::string::npos) continue;
    char* end = nullptr;
    double n = std::strtod(line.c_str(), &end);
    if (end != line.c_str() && *end == ',') return n;
  }
  return std::nullopt;
}

ProbeFigures ServerProbe::Figures(uint64_t deliveries) const {
  const double per = deliveries > 0 ? static_cast<double>(deliveries) : NAN;
  ProbeFigures f;
  if (before_ && after_) {
    f.frames_in = (SumOf(*after_, kFramesIn) - SumOf(*before_, kFramesIn)) / per;
    f.frames_out = (SumOf(*after_, kFramesOut) - SumOf(*before_, kFramesOut)) / per;
  }
  if (cpu_before_s_ && cpu_after_s_) f.cpu_s_per_1k = (*cpu_after_s_ - *cpu_before_s_) / per * 1000;
  if (syscalls_) f.syscalls = *syscalls_ / per;
  return f;
}

std::string ServerProbe::Report(uint64_t deliveries, const char* what) const {
  const ProbeFigures f = Figures(deliveries);
  fmt::print("\nserver, per {} ({} of them)\n", what, deliveries);
  if (!before_ || !after_) fmt::print("  /metrics: n/a ({})\n", metrics_note_);
  fmt::print("{:<28} {:>10}\n", "frames_in_per_msg", Text(f.frames_in, 3));
  fmt::print("{:<28} {:>10}\n", "frames_out_per_msg", Text(f.frames_out, 3));
  fmt::print("{:<28} {:>10}\n", "server_cpu_s_per_1k_msgs", Text(f.cpu_s_per_1k, 4));
  fmt::print("{:<28} {:>10}\n", "syscalls_per_msg", Text(f.syscalls, 2));
  std::string json = fmt::format(
      ",\"frames_in_per_msg\":{},\"frames_out_per_msg\":{},\"server_cpu_s_per_1k_msgs\":{},"
      "\"syscalls_per_msg\":{}",
      JsonNumber(f.frames_in, 3), JsonNumber(f.frames_out, 3), JsonNumber(f.cpu_s_per_1k, 4),
      JsonNumber(f.syscalls, 2));
  if (!before_ || !after_) return json;
  // An older server has no stage family: then nothing is printed for it.
  const auto after = HistogramsBy(*after_, kStageFamily, "stage");
  if (after.empty()) return json;
  const auto before = HistogramsBy(*before_, kStageFamily, "stage");
  fmt::print("\n{:<14} {:>10} {:>9} {:>9} {:>9}\n", "stage", "count", "p50_ms", "p99_ms",
             "p999_ms");
  json += ",\"stages\":{";
  bool first = true;
  for (const std::string& name : StageNames(after)) {
    auto b = before.find(name);
    const PromHistogram d = Delta(after.at(name), b == before.end() ? PromHistogram{} : b->second);
    const double p50 = HistogramQuantile(0.5, d) * 1000;
    const double p99 = HistogramQuantile(0.99, d) * 1000;
    const double p999 = HistogramQuantile(0.999, d) * 1000;
    fmt::print("{:<14} {:>10.0f} {:>9} {:>9} {:>9}\n", name, d.count, Text(p50, 3), Text(p99, 3),
               Text(p999, 3));
    json += fmt::format("{}\"{}\":{{\"count\":{:.0f},\"p50_ms\":{},\"p99_ms\":{},\"p999_ms\":{}}}",
                        first ? "" : ",", name, d.count, JsonNumber(p50, 4), JsonNumber(p99, 4),
                        JsonNumber(p999, 4));
    first = false;
  }
  json += "}";
  return json;
}

}  // namespace parley::bench
