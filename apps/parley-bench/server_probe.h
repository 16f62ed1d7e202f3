// ServerProbe: what a measured window cost the server under test, per delivered message.
// Begin() and End() bracket the window; each scrapes the server's /metrics and reads its
// CPU time (/proc/PID/stat), and Begin() starts `perf stat` counting its system calls
// until End(). Report() prints, from the differences:
//   - for every series of parley_stage_seconds{stage} (metrics/stages.h) its count and
//     p50/p99/p999, interpolated in the buckets as histogram_quantile() does;
//   - WebSocket frames in and out per delivered message (parley_frames_in/out_total);
//   - server CPU seconds per 1,000 delivered messages and system calls per delivered
//     message, when the server's pid is known.
// Whatever cannot be had prints as n/a (null in JSON) and the run goes on: an older server
// without the stage family prints no stage table, a server whose /metrics is elsewhere
// needs --metrics-url, a machine without perf (or without permission) has no syscall count.
//
// Thread-safety: one thread (Begin and End may run on different threads if they do not
// overlap, as FlowHooks calls them).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "prom_text.h"

namespace parley::bench {

struct ProbeOptions {
  std::string server_url;   // ws://HOST:PORT of the server: /metrics is read from there
  std::string metrics_url;  // http://HOST:PORT[/metrics] instead (a separate admin listener)
  int pid = 0;              // the server's pid (0: unknown, no CPU or syscall figures)
  bool perf = true;         // count system calls with perf stat
};

// Per delivered message; nullopt where the figure could not be had.
struct ProbeFigures {
  std::optional<double> frames_in, frames_out;  // WebSocket frames per message
  std::optional<double> cpu_s_per_1k;           // server CPU seconds per 1,000 messages
  std::optional<double> syscalls;               // server system calls per message
};

class ServerProbe {
 public:
  explicit ServerProbe(ProbeOptions options);
  ~ServerProbe();  // stops perf if End() was not called
  ServerProbe(const ServerProbe&) = delete;
  ServerProbe& operator=(const ServerProbe&) = delete;

  void Begin();
  void End();
  ProbeFigures Figures(uint64_t deliveries) const;
  // Prints the figures for `deliveries` messages delivered in the window (`what` names
  // the unit) and returns them as JSON members, each preceded by a comma, for a
  // scenario's final line.
  std::string Report(uint64_t deliveries, const char* what = "delivered message") const;

 private:
  // The server's current counters; false (with a note printed once) if unreadable.
  std::optional<std::vector<PromSample>> Scrape();
  void StartPerf();
  // Syscalls counted, or nullopt if perf could not count.
  std::optional<double> StopPerf();

  ProbeOptions options_;
  std::string metrics_note_;  // why /metrics could not be read, if it could not
  std::optional<std::vector<PromSample>> before_, after_;
  std::optional<double> cpu_before_s_, cpu_after_s_;
  pid_t perf_pid_ = -1;
  std::string perf_out_;  // perf's output file
  std::optional<double> syscalls_;
};

// Seconds of CPU (user + system) the process has used, from /proc/PID/stat.
std::optional<double> ProcessCpuSeconds(int pid);

}  // namespace parley::bench
