// `parley-bench backup`: backup and restore of a store of realistic messages, against a
// plain copy of the same data directory, and send latency of a live parleyd while it
// backs itself up.
//
// 1. fill: a fresh store in process (fsync off), --messages synthetic mixed Chinese/English
//    chat lines (search/corpus.h) over a few thousand direct and group conversations; then
//    the memtables are flushed and compactions waited out (Settle), before every run.
// 2. copy: every file of the data directory read, written and fdatasync'ed into another
//    directory (backup targets are durable once written, so the copy is too) -> copy_mb_per_s.
// 3. full: BackupService::Run(full) with zstd and encryption on, checkpoint included
//    -> full_mb_per_s (snapshot bytes / seconds).
// 4. incremental: 1% more messages, then Run(incremental) -> incremental_time_ratio.
// 5. restore: backup::Restore of the incremental (verify + write) -> restore_mb_per_s; the
//    restored store is opened and compared with the source (restore_mismatch must be 0).
// 6. live: a private parleyd (fsync on, search on) on the same data directory takes pairs
//    traffic at --rate; send->ack latency idle (half before, half after), and while
//    POST /admin/backup?full=1 runs (repeated until --backup-window has passed)
//    -> send_p99_ms_idle, send_p99_ms_during_backup; lost/duplicated/reordered must be 0.
//    RocksDB compactions started in each phase are counted from DATA/LOG: a backup's
//    checkpoint flush can set one off, and it weighs on latency more than the backup does.
// Every timed phase starts after sync(), so no earlier phase's writeback lands in it.
// --live-only DATA runs step 6 alone on a copy of an existing (stopped) data directory.
#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "backup/backup.h"
#include "backup/backup_service.h"
#include "client/http_request.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "net_common.h"
#include "scenarios.h"
#include "search/corpus.h"
#include "service/core.h"
#include "store/rocks_store.h"
#include "tests/support/temp_dir.h"

namespace parley::bench {
namespace {

namespace fs = std::filesystem;

constexpr double kMB = 1e6;
constexpr char kDevice[] = "bench-device";

struct Conv {
  ConvId id = 0;
  std::vector<UserId> members;
};

[[noreturn]] void Die(const Status& st, const std::string& what) {
  fmt::print(stderr, "parley-bench backup: {}: {}\n", what, st.ToString());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}

void Must(const Status& st, const std::string& what) {
  if (!st.ok()) Die(st, what);
}

double Seconds(int64_t since_nanos) {
  return static_cast<double>(MonotonicNanos() - since_nanos) / 1e9;
}

// Regular files under `dir` (the backup snapshot and the search index excluded).
uint64_t DirBytes(const fs::path& dir, size_t* files = nullptr) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name == "backup-snapshot" || name == "search")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    bytes += it->file_size(ec);
    if (files) ++*files;
  }
  return bytes;
}

// The bench's store is a RocksStore, which can take checkpoints of itself.
CheckpointSource& Checkpoints(Core& core) { return dynamic_cast<CheckpointSource&>(core.store()); }

// Flushes the memtables (a checkpoint does) and waits until background compactions stop
// changing the store's files (unchanged for 2 s; at most 5 min), so that each phase starts
// from a steady store and an incremental backup measures new messages rather than the
// compactions the previous flush set off. Returns the seconds it took.
double Settle(CheckpointSource& engine, const fs::path& data, const fs::path& scratch) {
  const int64_t start = MonotonicNanos();
  std::error_code ec;
  fs::remove_all(scratch, ec);
  Must(engine.Checkpoint(scratch.string()), "checkpoint (to flush)");
  fs::remove_all(scratch, ec);
  auto signature = [&] {
    std::vector<std::string> files;
    for (auto it = fs::directory_iterator(data, ec); !ec && it != fs::end(it); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!it->is_regular_file() || name.starts_with("LOG")) continue;
      files.push_back(name + ":" + std::to_string(it->file_size(ec)));
    }
    std::sort(files.begin(), files.end());
    std::string out;
    for (const auto& f : files) out += f + "\n";
    return out;
  };
  std::string last = signature();
  for (int i = 0, stable = 0; i < 600 && stable < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // poll interval
    std::string now = signature();
    stable = now == last ? stable + 1 : 0;
    last = std::move(now);
  }
  return Seconds(start);
}

// --- fill

struct FillResult {
  uint64_t acks = 0, errors = 0;
  double seconds = 0;
};

// `count` messages, each to a random conversation from a random member, several senders
// each keeping a window of sends in flight.
FillResult Fill(Core& core, const std::vector<Conv>& convs, uint64_t count, const std::string& tag,
                uint64_t seed) {
  constexpr int kThreads = 4;
  constexpr int kWindow = 128;
  struct Sender {
    std::mutex mu;
    std::condition_variable cv;
    int inflight = 0;
    uint64_t acks = 0, errors = 0;
  };
  std::vector<std::unique_ptr<Sender>> senders;
  for (int t = 0; t < kThreads; ++t) senders.push_back(std::make_unique<Sender>());
  std::atomic<uint64_t> next{0};
  const int64_t start = MonotonicNanos();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Sender& s = *senders[t];
      search::SyntheticCorpus corpus(seed * 131 + t);
      std::mt19937_64 rng(seed * 7919 + t);
      for (;;) {
        const uint64_t i = next.fetch_add(1);
        if (i >= count) break;
        {
          std::unique_lock<std::mutex> lock(s.mu);
          s.cv.wait(lock, [&] { return s.inflight < kWindow; });
          ++s.inflight;
        }
        const Conv& c = convs[rng() % convs.size()];
        SendRequest req;
        req.conv_id = c.id;
        req.client_msg_id = fmt::format("{}-{}", tag, i);
        req.body = corpus.NextMessage();
        core.messages().Send(Identity{c.members[rng() % c.members.size()], kDevice}, std::move(req),
                             [&s](Result<SendAck> r) {
                               std::lock_guard<std::mutex> lock(s.mu);
                               --s.inflight;
                               r.ok() ? ++s.acks : ++s.errors;
                               s.cv.notify_one();
                             });
      }
      std::unique_lock<std::mutex> lock(s.mu);
      s.cv.wait(lock, [&] { return s.inflight == 0; });
    });
  }
  for (auto& t : threads) t.join();
  FillResult out;
  out.seconds = Seconds(start);
  for (auto& s : senders) {
    out.acks += s->acks;
    out.errors += s->errors;
  }
  return out;
}

// --- copy

// Copies every regular file under `from` into `to` (read, write, fdatasync), then syncs
// the directories. Returns the bytes copied. Files that vanish meanwhile (RocksDB deletes
// obsolete ones) are skipped.
Result<uint64_t> CopyTree(const fs::path& from, const fs::path& to) {
  std::vector<char> buffer(8u << 20);
  uint64_t bytes = 0;
  std::error_code ec;
  std::vector<fs::path> dirs{to};
  fs::create_directories(to, ec);
  if (ec) return Status(Code::kIOError, "create " + to.string() + ": " + ec.message());
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), from);
    if (it->is_directory()) {
      fs::create_directories(to / rel, ec);
      dirs.push_back(to / rel);
      continue;
    }
    if (!it->is_regular_file()) continue;
    const int in = ::open(it->path().c_str(), O_RDONLY);
    if (in < 0) {
      if (errno == ENOENT) continue;
      return Status(Code::kIOError, "open " + it->path().string());
    }
    const int out = ::open((to / rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
      ::close(in);
      return Status(Code::kIOError, "create " + (to / rel).string());
    }
    bool ok = true;
    for (;;) {  // ends at end of file (each read makes progress or fails)
      const ssize_t n = ::read(in, buffer.data(), buffer.size());
      if (n <= 0) {
        ok = n == 0;
        break;
      }
      if (::write(out, buffer.data(), static_cast<size_t>(n)) != n) {
        ok = false;
        break;
      }
      bytes += static_cast<uint64_t>(n);
    }
    ok = ok && ::fdatasync(out) == 0;
    ::close(in);
    ::close(out);
    if (!ok) return Status(Code::kIOError, "copy " + it->path().string());
  }
  if (ec) return Status(Code::kIOError, "list " + from.string() + ": " + ec.message());
  for (const auto& d : dirs) {
    const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  return bytes;
}

// --- restore check

// Differences between the source store and the restored one: the counters, and each
// conversation's head and last message.
uint64_t CompareStores(Store& source, Store& restored, const std::vector<Conv>& convs,
                       uint64_t* source_messages, uint64_t* restored_messages) {
  uint64_t mismatch = 0;
  auto a = source.LoadCounters();
  auto b = restored.LoadCounters();
  if (!a.ok() || !b.ok() || a->last_gseq != b->last_gseq || a->last_conv_id != b->last_conv_id ||
      a->last_user_id != b->last_user_id) {
    ++mismatch;
  }
  *source_messages = *restored_messages = 0;
  for (const Conv& c : convs) {
    auto ha = source.GetConvHead(c.id);
    auto hb = restored.GetConvHead(c.id);
    if (!ha.ok() || !hb.ok()) {
      ++mismatch;
      continue;
    }
    *source_messages += ha->last_seq;
    *restored_messages += hb->last_seq;
    if (ha->last_seq != hb->last_seq) {
      ++mismatch;
      continue;
    }
    if (ha->last_seq == 0) continue;
    auto ma = source.GetMessage(c.id, ha->last_seq);
    auto mb = restored.GetMessage(c.id, hb->last_seq);
    if (!ma.ok() || !mb.ok() || ma->body != mb->body || ma->msg_id != mb->msg_id) ++mismatch;
  }
  return mismatch;
}

// --- live parleyd

double MetricValue(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
}

struct LiveResult {
  bool ok = false;
  std::string error;
  double search_catch_up_s = 0;
  FlowOutcome flow;
  int backups = 0;
  double backup_seconds = 0;  // wall time of the backup phase
  uint64_t backup_bytes = 0;  // snapshot bytes of the last one
  // RocksDB compactions that started in the idle phases and during the backups (a
  // checkpoint flushes the memtables, which may set one off), and their input bytes.
  int compactions_idle = 0, compactions_backup = 0;
  uint64_t compacted_idle = 0, compacted_backup = 0;
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Counts the compactions RocksDB's info log (DATA/LOG) records as started within
// [idle_from, backup_from) or [backup_to, idle_to) (idle) and [backup_from, backup_to).
void CountCompactions(const std::string& data_dir, int64_t idle_from, int64_t backup_from,
                      int64_t backup_to, int64_t idle_to, LiveResult* out) {
  std::ifstream in(fs::path(data_dir) / "LOG");
  std::string line;
  for (int i = 0; i < 10000000 && std::getline(in, line); ++i) {
    if (line.find("\"event\": \"compaction_started\"") == std::string::npos) continue;
    auto number_after = [&](const std::string& key) -> int64_t {
      size_t at = line.find("\"" + key + "\": ");
      return at == std::string::npos
                 ? 0
                 : std::strtoll(line.c_str() + at + key.size() + 4, nullptr, 10);
    };
    const int64_t t = number_after("time_micros");
    const auto bytes = static_cast<uint64_t>(number_after("input_data_size"));
    if (t >= backup_from && t < backup_to) {
      ++out->compactions_backup;
      out->compacted_backup += bytes;
    } else if ((t >= idle_from && t < backup_from) || (t >= backup_to && t < idle_to)) {
      ++out->compactions_idle;
      out->compacted_idle += bytes;
    }
  }
}

LiveResult RunLive(const BackupScenarioOptions& o, const std::string& data_dir,
                   const std::string& target_dir, const std::string& key_file) {
  LiveResult out;
  const std::string token = RandomHex(16);
  testing::ServerOptions so;
  so.data_dir = data_dir;
  so.ready_timeout = std::chrono::seconds(300);
  so.config_toml = std::string(kBenchConfig) +
                   fmt::format(
                       "[backup]\ntarget = \"{}\"\nkey_file = \"{}\"\nzstd_level = {}\n"
                       "[admin]\ntoken = \"{}\"\n",
                       target_dir, key_file, o.zstd_level, token);
  auto started = testing::ServerProcess::Start(so);
  if (!started.ok()) {
    out.error = "start parleyd: " + started.status().ToString();
    return out;
  }
  auto& server = **started;
  fmt::print("live: parleyd pid {} at {} (fsync on, search on)\n", server.pid(), server.url());

  // The search index is rebuilt from the change feed on first start: wait until it has
  // caught up, so the latency phases see only the steady indexing of new traffic.
  const int64_t catch_up_start = MonotonicNanos();
  for (int i = 0; i < 3600; ++i) {  // at most ~30 min
    auto text = server.HttpGet("/metrics");
    if (text.ok() && MetricValue(*text, "parley_search_lag_changes") == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // poll interval
  }
  out.search_catch_up_s = Seconds(catch_up_start);
  fmt::print("live: search index caught up in {:.1f} s\n", out.search_catch_up_s);

  NetOptions net;
  net.pairs = o.pairs;
  net.rate = o.rate;
  net.seconds = 3600;  // a cap: the phases below stop the traffic
  std::atomic<int> phase{-1};
  std::atomic<bool> sending{false}, stop{false};
  FlowHooks hooks;
  hooks.started = [&] { sending = true; };
  hooks.keep_sending = [&] { return !stop.load(); };
  hooks.phase = &phase;
  Result<FlowOutcome> flow = Status(Code::kInternal, "traffic did not run");
  std::atomic<bool> traffic_done{false};
  std::thread traffic([&] {
    flow = RunPairsTraffic(server.url(), net, hooks);
    traffic_done = true;
  });
  for (int i = 0; i < 12000 && !sending && !traffic_done; ++i) {  // set-up: at most 2 min
    std::this_thread::sleep_for(std::chrono::milliseconds(10));   // poll interval
  }
  std::array<int64_t, 3> windows{};  // idle from, backup from, backup to (epoch µs)
  int64_t idle_to = 0;
  if (sending) {
    std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up, not measured
    // Idle half before and half after the backups, so that drift in the machine's own
    // noise weighs on both figures alike.
    const auto half = std::chrono::duration<double>(o.seconds / 2);
    phase = 0;
    const int64_t idle_from = NowMicros();
    std::this_thread::sleep_for(half);
    phase = 1;
    const int64_t backup_from = NowMicros();
    const int64_t backup_start = MonotonicNanos();
    for (int i = 0; i < 20 && (i == 0 || Seconds(backup_start) < o.backup_window); ++i) {
      client::HttpRequestSpec spec;
      spec.port = server.port();
      spec.method = "POST";
      spec.path = "/admin/backup?full=1";
      spec.headers.emplace_back("Authorization", "Bearer " + token);
      spec.timeout_s = 3600;
      auto r = client::HttpRequest(spec);
      if (!r.ok() || r->status != 200) {
        out.error = "POST /admin/backup?full=1: " +
                    (r.ok() ? fmt::format("{} {}", r->status, r->body) : r.status().ToString());
        break;
      }
      ++out.backups;
      try {
        out.backup_bytes = nlohmann::json::parse(r->body).at("bytes").get<uint64_t>();
        fmt::print("live: backup {} done at {:%H:%M:%S} after {:.2f} s in the window\n",
                   out.backups, fmt::localtime(std::time(nullptr)), Seconds(backup_start));
      } catch (const std::exception& e) {
        out.error = std::string("backup answer does not parse: ") + e.what() + ": " + r->body;
        break;
      }
    }
    out.backup_seconds = Seconds(backup_start);
    phase = 0;
    const int64_t backup_to = NowMicros();
    std::this_thread::sleep_for(half);
    phase = -1;
    idle_to = NowMicros();
    windows = {idle_from, backup_from, backup_to};
  }
  stop = true;
  traffic.join();
  if (!flow.ok()) {
    out.error = "traffic: " + flow.status().ToString();
  } else {
    out.flow = std::move(*flow);
  }
  auto stopped = server.Stop();
  if (windows[0] > 0) CountCompactions(data_dir, windows[0], windows[1], windows[2], idle_to, &out);
  if (out.error.empty() && (!stopped.ok() || *stopped != 0)) {
    out.error = "parleyd did not stop cleanly";
  }
  out.ok = out.error.empty() && out.backups > 0;
  return out;
}

const char* Verdict(bool met) { return met ? "met" : "MISSED"; }

// --live-only DATA: the live phase alone, on a copy of the given (stopped) data directory.
int RunLiveOnly(const BackupScenarioOptions& o) {
  std::error_code ec;
  const fs::path work = fs::path(o.live_only).parent_path() / "live-only";
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  Must(CopyTree(o.live_only, work / "data").status(), "copy " + o.live_only);
  std::ofstream(work / "backup.key") << backup::NewKeyHex() << "\n";
  ::chmod((work / "backup.key").c_str(), 0600);  // parleyd refuses a key others can read
  LiveResult live = RunLive(o, (work / "data").string(), (work / "target").string(),
                            (work / "backup.key").string());
  fs::remove_all(work, ec);
  FlowOutcome& f = live.flow;
  fmt::print(
      "live only: idle p50/p99 {:.3f}/{:.3f} ms ({} sends), during {} backups "
      "({:.2f} s, {:.1f} MB/s) p50/p99/p999 {:.3f}/{:.3f}/{:.3f} ms ({} sends); "
      "lost/dup/reord/errors {}/{}/{}/{}; compactions idle/backup {}/{} {}\n",
      f.ack_latency[0].PercentileMs(50), f.ack_latency[0].PercentileMs(99),
      f.ack_latency[0].count(), live.backups, live.backup_seconds,
      live.backup_seconds > 0
          ? static_cast<double>(live.backup_bytes) * live.backups / kMB / live.backup_seconds
          : 0.0,
      f.ack_latency[1].PercentileMs(50), f.ack_latency[1].PercentileMs(99),
      f.ack_latency[1].PercentileMs(99.9), f.ack_latency[1].count(), f.lost, f.duplicated,
      f.reordered, f.errors, live.compactions_idle, live.compactions_backup, live.error);
  return live.ok && f.lost + f.duplicated + f.reordered + f.errors == 0 ? 0 : 1;
}

// --- 1. fill

struct FilledStore {
  std::vector<Conv> convs;
  uint64_t stored = 0;       // messages acknowledged (more are added by the runs)
  uint64_t errors = 0;       // sends that failed
  uint64_t store_bytes = 0;  // the settled store's files
};

// Users, then direct conversations between random pairs and groups of up to 8.
std::vector<Conv> MakeConversations(Core& core, int directs, int groups, int users,
                                    int group_members) {
  const std::string hash = Must(HashPassword("bench-password"), "hash");
  std::vector<UserId> user_ids;
  for (int i = 0; i < users; ++i) {
    user_ids.push_back(
        Must(core.accounts().RegisterWithHash(fmt::format("user{}", i), hash), "register").id);
  }
  std::mt19937_64 rng(1);
  std::vector<Conv> convs;
  for (int i = 0; convs.size() < static_cast<size_t>(directs) && i < 100 * directs; ++i) {
    UserId a = user_ids[rng() % users], b = user_ids[rng() % users];
    if (a == b || core.store().FindDirect(a, b).ok()) continue;
    auto c = Must(core.conversations().OpenDirect(a, b), "open direct");
    convs.push_back(Conv{c.id, {a, b}});
  }
  for (int g = 0; g < groups; ++g) {
    Conv c;
    for (int m = 0; m < group_members; ++m)
      c.members.push_back(user_ids[(g * 13 + m * 97) % users]);
    std::sort(c.members.begin(), c.members.end());
    c.members.erase(std::unique(c.members.begin(), c.members.end()), c.members.end());
    c.id = Must(core.conversations().CreateGroup(
                    c.members[0], fmt::format("group {}", g),
                    std::vector<UserId>(c.members.begin() + 1, c.members.end())),
                "create group")
               .id;
    convs.push_back(std::move(c));
  }
  return convs;
}

// Fills the store with o.messages messages, then settles it (Settle).
FilledStore FillAndSettle(Core& core, const BackupScenarioOptions& o, const std::string& run,
                          const fs::path& data, const fs::path& scratch) {
  const int groups = std::max(1, o.conversations / 6);
  const int directs = std::max(1, o.conversations - groups);
  const int users = std::max(16, o.conversations * 2 / 3);
  constexpr int kGroupMembers = 8;
  FilledStore out;
  out.convs = MakeConversations(core, directs, groups, users, kGroupMembers);
  FillResult fill = Fill(core, out.convs, o.messages, "f" + run, 1);
  out.stored = fill.acks;
  out.errors = fill.errors;
  const double settle_s = Settle(Checkpoints(core), data, scratch);
  size_t store_files = 0;
  out.store_bytes = DirBytes(data, &store_files);
  fmt::print(
      "fill: {} messages ({} errors) over {} conversations ({} direct, {} groups of <= {}), "
      "{} users in {:.1f} s ({:.0f}/s, fsync off); flushed and settled in {:.1f} s: store "
      "{:.1f} MB in {} files\n",
      out.stored, fill.errors, out.convs.size(), directs, groups, kGroupMembers, users,
      fill.seconds, static_cast<double>(out.stored) / fill.seconds, settle_s,
      static_cast<double>(out.store_bytes) / kMB, store_files);
  return out;
}

// --- 2-4. copy, full, incremental

struct BackupRuns {
  std::vector<double> copy_rates, full_rates, ratios, inc_seconds, full_seconds;
  backup::Manifest full_m, inc_m;  // of the last run
};

// Where the throughput phases work: the store, its copy, the backup target.
struct BenchDirs {
  fs::path data, copy, target, scratch;
  std::string key_file;
};

// Copy, full backup, +1% messages, incremental backup; o.repeat times. The messages added
// go to filled->stored (and their failures to filled->errors).
BackupRuns RunCopyFullIncremental(Core& core, const BackupScenarioOptions& o, const BenchDirs& dirs,
                                  const std::string& run, FilledStore* filled) {
  std::error_code ec;
  backup::BackupConfig bc;
  bc.target = dirs.target.string();
  bc.key_file = dirs.key_file;
  bc.zstd_level = o.zstd_level;
  BackupRuns out;
  uint64_t copy_bytes = 0;
  const uint64_t increment = std::max<uint64_t>(1, o.messages / 100);
  for (int r = 0; r < o.repeat; ++r) {
    if (r > 0) Settle(Checkpoints(core), dirs.data, dirs.scratch);
    fs::remove_all(dirs.copy, ec);
    ::sync();
    int64_t t0 = MonotonicNanos();
    copy_bytes = Must(CopyTree(dirs.data, dirs.copy), "copy");
    const double copy_s = Seconds(t0);
    out.copy_rates.push_back(static_cast<double>(copy_bytes) / kMB / copy_s);
    fs::remove_all(dirs.copy, ec);

    fs::remove_all(dirs.target, ec);
    auto service = Must(backup::BackupService::Open(core.store(), &Checkpoints(core),
                                                    dirs.data.string(), bc, nullptr),
                        "open backup service");
    ::sync();
    t0 = MonotonicNanos();
    out.full_m = Must(service->Run(true), "full backup");
    const double full_s = Seconds(t0);
    out.full_seconds.push_back(full_s);
    out.full_rates.push_back(static_cast<double>(out.full_m.bytes) / kMB / full_s);

    FillResult more = Fill(core, filled->convs, increment, fmt::format("i{}{}", run, r), 100 + r);
    filled->stored += more.acks;
    filled->errors += more.errors;
    ::sync();
    t0 = MonotonicNanos();
    out.inc_m = Must(service->Run(false), "incremental backup");
    const double inc_s = Seconds(t0);
    out.inc_seconds.push_back(inc_s);
    out.ratios.push_back(inc_s / full_s);
    fmt::print(
        "run {}: copy {:.1f} MB in {:.2f} s ({:.0f} MB/s); full {:.1f} MB in {:.2f} s "
        "({:.0f} MB/s, {:.1f} MB stored); +{} msgs, incremental {} in {:.3f} s "
        "({:.1f} MB new, ratio {:.4f})\n",
        r + 1, static_cast<double>(copy_bytes) / kMB, copy_s, out.copy_rates.back(),
        static_cast<double>(out.full_m.bytes) / kMB, full_s, out.full_rates.back(),
        static_cast<double>(out.full_m.stored_bytes) / kMB, more.acks, out.inc_m.kind, inc_s,
        static_cast<double>(out.inc_m.new_bytes) / kMB, out.ratios.back());
  }
  return out;
}

// --- 5. restore

struct RestoreRuns {
  std::vector<double> rates;
  uint64_t source_messages = 0, restored_messages = 0, mismatch = 0;
};

// Restores the last incremental o.repeat times, then compares the restored store with the
// source (and the source with what was acknowledged). Removes the restored store after.
RestoreRuns RestoreAndCompare(Core& core, const BackupScenarioOptions& o, const BenchDirs& dirs,
                              const fs::path& restored, const FilledStore& filled,
                              const backup::Manifest& inc_m) {
  std::error_code ec;
  auto key = Must(backup::LoadKey(dirs.key_file), "load key");
  auto target_h = Must(backup::OpenDirTarget(dirs.target.string()), "open target");
  RestoreRuns out;
  for (int r = 0; r < o.repeat; ++r) {
    fs::remove_all(restored, ec);
    ::sync();
    const int64_t t0 = MonotonicNanos();
    Must(backup::Restore(*target_h, inc_m.id, restored.string(), key), "restore");
    out.rates.push_back(static_cast<double>(inc_m.bytes) / kMB / Seconds(t0));
  }
  {
    auto copy_store = Must(OpenRocksStore(restored.string()), "open the restored store");
    out.mismatch = CompareStores(core.store(), *copy_store, filled.convs, &out.source_messages,
                                 &out.restored_messages);
  }
  // The source lost acknowledged messages.
  if (out.source_messages != filled.stored) ++out.mismatch;
  fs::remove_all(restored, ec);
  return out;
}

// --- report

// The table, the targets met or missed, then one line of JSON. Returns the exit code.
int PrintBackupFigures(const BackupScenarioOptions& o, const FilledStore& filled,
                       const BackupRuns& runs, const RestoreRuns& restore, LiveResult& live) {
  const uint64_t stored = filled.stored, errors = filled.errors;
  const uint64_t store_bytes = filled.store_bytes, restore_mismatch = restore.mismatch;
  const backup::Manifest &full_m = runs.full_m, &inc_m = runs.inc_m;
  const double copy_rate = Median(runs.copy_rates), full_rate = Median(runs.full_rates);
  const double ratio = Median(runs.ratios), restore_rate = Median(restore.rates);
  FlowOutcome& f = live.flow;
  const double p99_idle = f.ack_latency[0].PercentileMs(99);
  const double p99_backup = f.ack_latency[1].PercentileMs(99);
  fmt::print("\nparley-bench backup — {} messages, zstd level {}, encrypted, medians of {}\n",
             stored, o.zstd_level, o.repeat);
  fmt::print("{:<44}{:>14}\n", "figure", "value");
  fmt::print("{:<44}{:>14.1f}\n", "store MB (RocksDB, LZ4)",
             static_cast<double>(store_bytes) / kMB);
  fmt::print("{:<44}{:>14.1f}\n", "copy_mb_per_s (read+write+fdatasync)", copy_rate);
  fmt::print("{:<44}{:>14.1f}\n", "full_mb_per_s (checkpoint+hash+zstd+seal)", full_rate);
  fmt::print("{:<44}{:>14.2f}\n", "  full seconds", Median(runs.full_seconds));
  fmt::print("{:<44}{:>14.2f}\n", "  full stored MB / snapshot MB",
             static_cast<double>(full_m.stored_bytes) / static_cast<double>(full_m.bytes));
  fmt::print("{:<44}{:>14.3f}\n", "  incremental seconds (+1% messages)", Median(runs.inc_seconds));
  fmt::print("{:<44}{:>14}\n", "  new MB: full / incremental",
             fmt::format("{:.1f} / {:.1f}", static_cast<double>(full_m.new_bytes) / kMB,
                         static_cast<double>(inc_m.new_bytes) / kMB));
  fmt::print("{:<44}{:>14.4f}\n", "incremental_time_ratio", ratio);
  fmt::print("{:<44}{:>14.1f}\n", "restore_mb_per_s (verify + write)", restore_rate);
  fmt::print("{:<44}{:>14}\n", "restore messages (source / restored)",
             fmt::format("{} / {}", restore.source_messages, restore.restored_messages));
  fmt::print("{:<44}{:>14}\n", "restore_mismatch", restore_mismatch);
  fmt::print("{:<44}{:>14}\n", "live: pairs, rate msgs/s",
             fmt::format("{}, {:.0f}", o.pairs, o.rate));
  fmt::print("{:<44}{:>14.1f}\n", "  search index catch-up s", live.search_catch_up_s);
  fmt::print("{:<44}{:>14}\n", "  sends idle / during backup",
             fmt::format("{} / {}", f.ack_latency[0].count(), f.ack_latency[1].count()));
  fmt::print("{:<44}{:>14.3f}\n", "  send_p50_ms_idle", f.ack_latency[0].PercentileMs(50));
  fmt::print("{:<44}{:>14.3f}\n", "  send_p99_ms_idle", p99_idle);
  fmt::print("{:<44}{:>14.3f}\n", "  send_p50_ms_during_backup", f.ack_latency[1].PercentileMs(50));
  fmt::print("{:<44}{:>14.3f}\n", "  send_p99_ms_during_backup", p99_backup);
  fmt::print("{:<44}{:>14.3f}\n", "  send_p999_ms_during_backup",
             f.ack_latency[1].PercentileMs(99.9));
  fmt::print("{:<44}{:>14}\n", "  backups (seconds)",
             fmt::format("{} ({:.2f})", live.backups, live.backup_seconds));
  fmt::print("{:<44}{:>14.1f}\n", "  backup MB/s under load",
             live.backup_seconds > 0
                 ? static_cast<double>(live.backup_bytes) * live.backups / kMB / live.backup_seconds
                 : 0.0);
  fmt::print("{:<44}{:>14}\n", "  rocksdb compactions idle / during backup",
             fmt::format("{} ({:.0f} MB) / {} ({:.0f} MB)", live.compactions_idle,
                         static_cast<double>(live.compacted_idle) / kMB, live.compactions_backup,
                         static_cast<double>(live.compacted_backup) / kMB));
  fmt::print("{:<44}{:>14}\n", "  lost / duplicated / reordered / errors",
             fmt::format("{}/{}/{}/{}", f.lost, f.duplicated, f.reordered, f.errors));
  fmt::print(
      "targets: full/copy {:.2f} >= 0.5 {}; incremental ratio {:.4f} <= 0.05 {}; "
      "p99 during/idle {:.2f} <= 2 {}\n",
      full_rate / copy_rate, Verdict(full_rate >= 0.5 * copy_rate), ratio, Verdict(ratio <= 0.05),
      p99_idle > 0 ? p99_backup / p99_idle : 0.0,
      p99_idle > 0 ? Verdict(p99_backup <= 2 * p99_idle) : "not measured");
  fmt::print(
      "{{\"scenario\":\"backup\",\"messages\":{},\"store_mb\":{:.1f},\"full_mb_per_s\":{:.1f},"
      "\"copy_mb_per_s\":{:.1f},\"incremental_time_ratio\":{:.4f},\"restore_mb_per_s\":{:.1f},"
      "\"send_p99_ms_during_backup\":{:.3f},\"send_p99_ms_idle\":{:.3f},\"restore_mismatch\":{},"
      "\"lost\":{},\"duplicated\":{},\"reordered\":{},\"errors\":{},\"repeat\":{}}}\n",
      stored, static_cast<double>(store_bytes) / kMB, full_rate, copy_rate, ratio, restore_rate,
      p99_backup, p99_idle, restore_mismatch, f.lost, f.duplicated, f.reordered, f.errors + errors,
      o.repeat);
  const bool live_ok = o.seconds <= 0 || live.ok;
  return restore_mismatch == 0 && f.lost + f.duplicated + f.reordered + f.errors + errors == 0 &&
                 live_ok
             ? 0
             : 1;
}

}  // namespace

int RunBackupScenario(const BackupScenarioOptions& o) {
  std::error_code ec;
  if (!o.live_only.empty()) return RunLiveOnly(o);
  const fs::path base = o.dir.empty() ? fs::temp_directory_path() : fs::path(o.dir);
  auto root_dir = test::TempDir::Create("parley-backup-bench-", base.string());
  if (!root_dir.ok()) {
    fmt::print(stderr, "parley-bench backup: {}\n", root_dir.status().ToString());
    return 1;
  }
  if (o.keep) root_dir->Keep();
  const fs::path root = root_dir->path();
  const fs::path data = root / "data", copy = root / "copy", target = root / "target",
                 restored = root / "restore", live_target = root / "target-live";
  const std::string key_file = (root / "backup.key").string();
  {
    std::ofstream(key_file) << backup::NewKeyHex() << "\n";
    ::chmod(key_file.c_str(), 0600);
  }
  const BenchDirs dirs{data, copy, target, root / "flush-checkpoint", key_file};

  ServiceConfig config;
  config.durability = Durability::kBuffered;
  auto core = Must(Core::Open(Must(OpenRocksStore(data.string()), "open store"), config), "core");
  const std::string run = RandomHex(4);
  FilledStore filled = FillAndSettle(*core, o, run, data, dirs.scratch);
  BackupRuns runs = RunCopyFullIncremental(*core, o, dirs, run, &filled);
  RestoreRuns restore = RestoreAndCompare(*core, o, dirs, restored, filled, runs.inc_m);
  fs::remove_all(target, ec);
  core->Shutdown();
  core.reset();

  // 6. Live parleyd on the same data directory.
  LiveResult live;
  if (o.seconds > 0) {
    live = RunLive(o, data.string(), live_target.string(), key_file);
    if (!live.ok) fmt::print(stderr, "parley-bench backup: live phase: {}\n", live.error);
  }
  return PrintBackupFigures(o, filled, runs, restore, live);
}

}  // namespace parley::bench
