// Fault: a full disk (issue 16, docs/faults.md "Full disk"). The real parleyd runs on a data
// directory that is a small tmpfs made by the test; the test fills it with a file of its
// own and checks what clients and operators see while it is full and after it deletes the
// file: sends refused with `unavailable` (never a crash, a hang or a silent drop), nothing
// acknowledged lost or damaged, reads going on, the search indexer and backups failing
// cleanly (a log line and a metric each) and catching up, and sends accepted again without
// a restart, a retried client_msg_id stored exactly once. A second test fills a backup
// target (a tmpfs of its own) in the middle of a backup.
//
// Needs root (mount); skipped otherwise. Every wait is bounded.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backup/backup.h"
#include "backup/target.h"
#include "client/http_request.h"
#include "tests/support/full_reads.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/metrics_text.h"
#include "tests/support/temp_dir.h"
#include "tests/support/waiting.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using client::BlockingClient;
using client::OutgoingMessage;
using testing::ServerOptions;
using testing::ServerProcess;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kToken[] = "disk-full-admin-token-0123456789";

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A tmpfs of `size` ("16m") mounted on `dir` for the test's life; unmounted (lazily if
// still busy) when it goes away, whatever happened in between.
class TmpfsMount {
 public:
  Status Mount(const std::string& dir, const std::string& size) {
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      return Status(Code::kIOError, "mount tmpfs on " + dir + ": " + std::strerror(errno));
    }
    dir_ = dir;
    return Status::Ok();
  }
  ~TmpfsMount() {
    if (dir_.empty()) return;
    if (::umount2(dir_.c_str(), 0) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
  }

 private:
  std::string dir_;
};

uint64_t FreeBytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// Writes `path` until the file system has at most `leave` bytes free (0: until ENOSPC).
// Returns the bytes written.
uint64_t Fill(const std::string& path, uint64_t leave) {
  const std::string dir = fs::path(path).parent_path().string();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string block(64 << 10, 'F');
  uint64_t written = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t free = FreeBytes(dir);
    if (free <= leave) break;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), free - leave));
    const size_t put = std::fwrite(block.data(), 1, n, f);
    written += put;
    if (put < n) break;  // ENOSPC
  }
  std::fclose(f);
  return written;
}

double MetricValue(const std::string& text, const std::string& series) {
  return test::MetricValue(text, series).value_or(-1);
}

// parleyd's log (its stderr, a file of ServerProcess's), found through /proc.
std::string LogOf(const ServerProcess& server) {
  std::error_code ec;
  const fs::path log = fs::read_symlink("/proc/" + std::to_string(server.pid()) + "/fd/2", ec);
  if (ec) return "";
  std::ifstream in(log);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// The log's lines containing any of `needles`, for the test's printout.
std::string LinesWith(const std::string& log, const std::vector<std::string>& needles) {
  std::istringstream in(log);
  std::string line, out;
  while (std::getline(in, line)) {
    for (const auto& n : needles) {
      if (line.find(n) != std::string::npos) {
        out += "    " + line + "\n";
        break;
      }
    }
  }
  return out;
}

// Lower-case letters only, so the search tokenizer keeps each as one word.
std::string Tag(const std::string& prefix, int i) {
  std::string t = prefix;
  for (int k = 0; k < 4; ++k, i /= 26) t += static_cast<char>('a' + i % 26);
  return t;
}

struct Sent {
  std::string cmid;
  std::string body;
  Seq seq = 0;
};

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test mounts a tmpfs";
  }

  // Mounts a tmpfs of `size` on `dir` (created); skips the test when mounting is refused
  // (a container without CAP_SYS_ADMIN).
  bool MountOrSkip(TmpfsMount& mount, const std::string& dir, const std::string& size) {
    fs::create_directories(dir);
    Status st = mount.Mount(dir, size);
    if (!st.ok()) {
      skip_reason_ = "cannot mount a tmpfs here: " + st.ToString();
      return false;
    }
    return true;
  }

  std::unique_ptr<ServerProcess> Start(const std::string& data_dir, const std::string& target) {
    ServerOptions opts;
    opts.data_dir = data_dir;
    opts.config_toml = std::string(testing::kFastHashes) +
                       "[limits]\nsend_rate_per_conn = 0\nsend_rate_per_user = 0\n"
                       "[backup]\ntarget = \"" +
                       target + "\"\n[admin]\ntoken = \"" + kToken + "\"\n";
    auto s = ServerProcess::Start(opts);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  std::unique_ptr<BlockingClient> Device(ServerProcess& server, const std::string& name,
                                         const std::string& device) {
    client::ConnectOptions o;
    o.url = server.url();
    auto c = std::make_unique<BlockingClient>(o, 30s);
    EXPECT_TRUE(c->Connect().ok());
    auto reg = c->Register(name, name + "-password");
    EXPECT_TRUE(reg.ok() || reg.status().code() == Code::kAlreadyExists) << reg.status().ToString();
    auto l = c->Login(name, name + "-password", device);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return c;
  }

  static client::HttpResponse Backup(ServerProcess& server) {
    client::HttpRequestSpec spec;
    spec.port = server.port();
    spec.method = "POST";
    spec.path = "/admin/backup";
    spec.headers.emplace_back("Authorization", "Bearer " + std::string(kToken));
    spec.timeout_s = 120;
    auto r = client::HttpRequest(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : client::HttpResponse{};
  }

  static std::string MetricsText(ServerProcess& server) {
    auto text = server.HttpGet("/metrics");
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? *text : "";
  }
  static double Metric(ServerProcess& server, const std::string& series) {
    return MetricValue(MetricsText(server), series);
  }

  static size_t SearchHits(BlockingClient& c, const std::string& word) {
    client::SearchArgs args;
    args.q = word;
    args.limit = 100;
    auto r = c.Search(args);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->hits.size() : 0;
  }

  // Message events in the user's whole sync timeline (checked gapless, once each).
  static size_t MessageEvents(BlockingClient& c) {
    size_t n = 0;
    for (const auto& item : test::SyncAll(c)) n += item.event.type == EventType::kMessage;
    return n;
  }

  // The conversation's history is exactly `sent`, in order, bodies intact, seq 1..N.
  static void ExpectHistory(BlockingClient& c, ConvId conv, const std::vector<Sent>& sent,
                            const std::string& when) {
    auto history = test::HistoryForward(c, conv);
    ASSERT_EQ(history.size(), sent.size()) << when;
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(history[i].seq, i + 1) << when;
      EXPECT_EQ(history[i].seq, sent[i].seq) << when;
      EXPECT_EQ(history[i].client_msg_id, sent[i].cmid) << when;
      EXPECT_EQ(history[i].body, sent[i].body) << when << ": message " << i + 1 << " damaged";
    }
  }

  std::string skip_reason_;
};

// Random lower-case words: ~`bytes` of text the search index has to store in full.
std::string Words(std::mt19937& rng, const std::string& tag, size_t bytes) {
  std::string out = tag;
  std::uniform_int_distribution<int> letter(0, 25), len(4, 9);
  while (out.size() < bytes) {
    out += ' ';
    for (int n = len(rng); n > 0; --n) out += static_cast<char>('a' + letter(rng));
  }
  return out;
}

TEST_F(DiskFullTest, SendsRefusedReadsServedEverythingResumesWhenSpaceIsFreed) {
  test::TempDir work("parley-disk-full-");
  const std::string data = work.Sub("data");
  TmpfsMount mount;
  if (!MountOrSkip(mount, data, "16m")) GTEST_SKIP() << skip_reason_;
  auto server = Start(data, work.Sub("backups"));
  ASSERT_TRUE(server);
  auto alice = Device(*server, "alice", "a1");
  auto bob = Device(*server, "bob", "b1");
  auto conv = alice->OpenDirect(client::UserArg("bob"));
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  std::mt19937 rng(16);

  std::vector<Sent> acked;
  auto send = [&](const std::string& cmid, const std::string& body, int64_t* retry_ms) {
    OutgoingMessage m;
    m.conv = conv->id;
    m.body = body;
    m.client_msg_id = cmid;
    return alice->SendMessage(m, retry_ms);
  };
  for (int i = 0; i < 10; ++i) {
    Sent s{"warm-" + std::to_string(i), "warmup " + std::to_string(i) + " lighthouse", 0};
    auto ack = send(s.cmid, s.body, nullptr);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    s.seq = ack->seq;
    acked.push_back(s);
  }
  ASSERT_TRUE(test::WaitUntil([&] { return SearchHits(*alice, "lighthouse") == 10; }, 20s, 50ms));
  ASSERT_EQ(Backup(*server).status, 200);

  // Fill the disk but for 1 MiB, then, right after an acknowledged message, the rest: the
  // indexer (which lets commits gather for 100 ms) then finds no room for it. Should the
  // indexer win that race, the message is indexed and the step is repeated.
  const uint64_t free_at_start = FreeBytes(data);
  const uint64_t filled = Fill(data + "/filler", 1 << 20);
  std::vector<std::string> small_fillers;
  bool index_failed = false;
  for (int attempt = 0; attempt < 5 && !index_failed; ++attempt) {
    Sent s{"late-" + std::to_string(attempt), "", 0};
    s.body = Words(rng, Tag("late", attempt), 6000);
    auto ack = send(s.cmid, s.body, nullptr);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    s.seq = ack->seq;
    acked.push_back(s);
    small_fillers.push_back(data + "/filler-" + std::to_string(attempt));
    Fill(small_fillers.back(), 0);
    ASSERT_TRUE(test::WaitUntil(
        [&] {
          index_failed = Metric(*server, "parley_search_index_errors_total") > 0;
          return index_failed || SearchHits(*alice, Tag("late", attempt)) == 1;
        },
        20s, 20ms));
    if (!index_failed) fs::remove(small_fillers.back());
  }
  ASSERT_TRUE(index_failed) << "the search indexer never ran out of space";
  std::printf(
      "[disk-full] tmpfs 16 MiB: %.1f MiB free at start, filler %.1f MiB, %llu bytes "
      "left\n",
      free_at_start / 1048576.0, filled / 1048576.0,
      static_cast<unsigned long long>(FreeBytes(data)));

  // Sends now answer `unavailable` with a retry hint; a few may still fit in the last page
  // of the write-ahead log, and those are acknowledged and kept like any other.
  Sent refused;
  int64_t retry_ms = -1;
  Status refusal;
  const auto fill_done = Clock::now();
  for (int i = 0; i < 200 && refusal.ok(); ++i) {
    Sent s{"full-" + std::to_string(i), "", 0};
    s.body = Words(rng, Tag("full", i), 2000);
    auto ack = send(s.cmid, s.body, &retry_ms);
    if (ack.ok()) {
      s.seq = ack->seq;
      acked.push_back(s);
    } else {
      refusal = ack.status();
      refused = s;
    }
  }
  ASSERT_FALSE(refusal.ok()) << "200 sends fitted on a full disk";
  EXPECT_EQ(refusal.code(), Code::kUnavailable) << refusal.ToString();
  EXPECT_GT(retry_ms, 0);
  // Refused fast and stably while it lasts; the connection stays usable.
  const auto t_refused = Clock::now();
  for (int i = 0; i < 5; ++i) {
    auto again = send("full-again-" + std::to_string(i), "still full?", nullptr);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), Code::kUnavailable) << again.status().ToString();
  }
  const double refuse_ms = Millis(Clock::now() - t_refused) / 5;
  EXPECT_TRUE(alice->Ping().ok());
  // Stays so while the disk is full (the store's attempts to resume fail meanwhile).
  int refusals = 6;
  for (const auto until = Clock::now() + 1500ms; Clock::now() < until; ++refusals) {
    auto still = send("full-still-" + std::to_string(refusals), "still full?", nullptr);
    ASSERT_FALSE(still.ok());
    EXPECT_EQ(still.status().code(), Code::kUnavailable) << still.status().ToString();
    std::this_thread::sleep_for(100ms);
  }

  // Reads go on: history, sync, search; nothing acknowledged is missing or damaged.
  ExpectHistory(*alice, conv->id, acked, "while full");
  EXPECT_EQ(MessageEvents(*bob), acked.size());
  EXPECT_EQ(SearchHits(*bob, "lighthouse"), 10u);
  EXPECT_EQ(SearchHits(*bob, Tag("late", static_cast<int>(small_fillers.size()) - 1)), 0u)
      << "indexed without space?";

  // A backup cannot take its checkpoint: it fails, counted and audited.
  auto failed_backup = Backup(*server);
  EXPECT_NE(failed_backup.status, 200) << failed_backup.body;
  const std::string metrics_full = MetricsText(*server);
  EXPECT_EQ(MetricValue(metrics_full, "parley_store_refusing_writes"), 1);
  EXPECT_GE(MetricValue(metrics_full, "parley_store_no_space_errors_total"), 1);
  EXPECT_GE(MetricValue(metrics_full, "parley_errors_total{code=\"unavailable\"}"), refusals);
  EXPECT_EQ(MetricValue(metrics_full, "parley_backup_failures_total"), 1);
  EXPECT_GE(MetricValue(metrics_full, "parley_search_index_errors_total"), 1);

  // Free the space: the same send, retried as a client would, goes through once.
  fs::remove(data + "/filler");
  for (const auto& f : small_fillers) fs::remove(f);
  const auto freed = Clock::now();
  Result<SendAck> retried = Status(Code::kInternal, "not tried");
  int retries = 0;
  EXPECT_TRUE(test::WaitUntil(
      [&] {
        ++retries;
        retried = send(refused.cmid, refused.body, nullptr);
        return retried.ok() || retried.status().code() != Code::kUnavailable;
      },
      30s, 100ms));
  const double recover_ms = Millis(Clock::now() - freed);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString() << "\n"
                            << LinesWith(LogOf(*server), {"store:", "search index:"});
  EXPECT_FALSE(retried->duplicate);
  refused.seq = retried->seq;
  acked.push_back(refused);
  auto again = send(refused.cmid, refused.body, nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, refused.seq);
  for (int i = 0; i < 5; ++i) {
    Sent s{"after-" + std::to_string(i), "after the disk filled up " + std::to_string(i), 0};
    auto ack = send(s.cmid, s.body, nullptr);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    s.seq = ack->seq;
    acked.push_back(s);
  }

  // The indexer catches up on what it missed; backups work again.
  const auto index_wait = Clock::now();
  EXPECT_TRUE(test::WaitUntil(
      [&] {
        return Metric(*server, "parley_search_lag_changes") == 0 &&
               SearchHits(*bob, Tag("late", static_cast<int>(small_fillers.size()) - 1)) == 1 &&
               SearchHits(*bob, refused.body.substr(0, refused.body.find(' '))) == 1;
      },
      30s, 100ms));
  const double index_ms = Millis(Clock::now() - index_wait);
  EXPECT_EQ(Backup(*server).status, 200);
  const std::string metrics_after = MetricsText(*server);
  EXPECT_EQ(MetricValue(metrics_after, "parley_store_refusing_writes"), 0);
  EXPECT_GE(MetricValue(metrics_after, "parley_store_resumes_total"), 1);
  EXPECT_EQ(MetricValue(metrics_after, "parley_backup_successes_total"), 2);
  EXPECT_EQ(MetricValue(metrics_after, "parley_search_lag_changes"), 0);
  ExpectHistory(*alice, conv->id, acked, "after recovery");
  EXPECT_EQ(MessageEvents(*bob), acked.size());

  const std::string log = LogOf(*server);
  EXPECT_NE(log.find("store: no space left"), std::string::npos);
  EXPECT_NE(log.find("store: writes resumed"), std::string::npos);
  EXPECT_NE(log.find("search index: indexing failed"), std::string::npos);
  EXPECT_NE(log.find("audit: backup failed"), std::string::npos);

  // And a restart finds the same (no log or table damaged by the failed writes).
  auto stopped = server->Stop();
  ASSERT_TRUE(stopped.ok() && *stopped == 0) << "parleyd exited badly";
  ASSERT_TRUE(server->Restart().ok());
  auto alice2 = Device(*server, "alice", "a2");
  ExpectHistory(*alice2, conv->id, acked, "after a restart");

  std::printf(
      "[disk-full] %zu messages acknowledged, none lost or damaged; refused with %s "
      "(retry_after_ms %lld) %.0f ms after the disk filled, each refusal in %.1f ms\n"
      "[disk-full] sends accepted again %.0f ms after the space was freed (%d tries, 100 ms "
      "apart); the retried client_msg_id stored once (seq %llu); the indexer caught up in "
      "%.0f ms more\n"
      "[disk-full] metrics while full: no_space_errors %.0f, unavailable replies %.0f, search "
      "index errors %.0f, backup failures %.0f\n[disk-full] parleyd said:\n%s",
      acked.size(), refusal.ToString().c_str(), static_cast<long long>(retry_ms),
      Millis(t_refused - fill_done), refuse_ms, recover_ms, retries,
      static_cast<unsigned long long>(refused.seq), index_ms,
      MetricValue(metrics_full, "parley_store_no_space_errors_total"),
      MetricValue(metrics_full, "parley_errors_total{code=\"unavailable\"}"),
      MetricValue(metrics_full, "parley_search_index_errors_total"),
      MetricValue(metrics_full, "parley_backup_failures_total"),
      LinesWith(log, {"store:", "search index:", "audit: backup"}).c_str());
}

size_t CountFiles(const std::string& dir, const std::string& contains) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().filename().string().find(contains) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

Status VerifyBackup(const std::string& target_dir, const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(auto target, backup::OpenDirTarget(target_dir));
  PARLEY_ASSIGN_OR_RETURN(auto checks, backup::Verify(*target, id, std::nullopt));
  if (checks.empty()) return Status(Code::kCorruption, "no files in backup " + id);
  for (const auto& c : checks) {
    if (!c.status.ok()) return Status(c.status.code(), c.path + ": " + c.status.message());
  }
  return Status::Ok();
}

TEST_F(DiskFullTest, BackupTargetFillingUpMidBackupFailsCleanlyEarlierBackupsStillVerify) {
  test::TempDir work("parley-target-full-");
  const std::string target = work.Sub("target");
  TmpfsMount mount;
  if (!MountOrSkip(mount, target, "4m")) GTEST_SKIP() << skip_reason_;
  auto server = Start(work.Sub("data"), target);
  ASSERT_TRUE(server);
  auto alice = Device(*server, "alice", "a1");
  auto bob = Device(*server, "bob", "b1");
  auto conv = alice->OpenDirect(client::UserArg("bob"));
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(alice->Send(conv->id, "before " + std::to_string(i)).ok());
  auto first = Backup(*server);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string first_id = nlohmann::json::parse(first.body).value("id", "");
  ASSERT_FALSE(first_id.empty());
  const size_t objects_before = CountFiles(target, "");

  // ~600 KiB of text that compresses poorly, then a backup into 64 KiB of room.
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(alice->Send(conv->id, Words(rng, "bulk", 3000)).ok());
  }
  const uint64_t filled = Fill(target + "/filler", 64 << 10);
  const uint64_t room = FreeBytes(target);
  const auto started = Clock::now();
  auto failed = Backup(*server);
  const double failed_ms = Millis(Clock::now() - started);
  EXPECT_NE(failed.status, 200) << failed.body;
  EXPECT_NE(failed.body.find("No space left"), std::string::npos) << failed.body;
  // Nothing half-written stays behind; the earlier backup is whole.
  EXPECT_EQ(CountFiles(target, ".tmp-"), 0u);
  // Whole objects (content-addressed chunks) the failed run stored before it stopped.
  const size_t objects_left = CountFiles(target, "") - objects_before - 1;  // minus the filler
  Status first_ok = VerifyBackup(target, first_id);
  EXPECT_TRUE(first_ok.ok()) << first_ok.ToString();
  EXPECT_EQ(Metric(*server, "parley_backup_failures_total"), 1);
  ASSERT_TRUE(alice->Send(conv->id, "sends do not care").ok());

  // Room again: the next backup succeeds and verifies, and so does the first.
  fs::remove(target + "/filler");
  auto next = Backup(*server);
  ASSERT_EQ(next.status, 200) << next.body;
  const std::string next_id = nlohmann::json::parse(next.body).value("id", "");
  Status next_ok = VerifyBackup(target, next_id);
  EXPECT_TRUE(next_ok.ok()) << next_ok.ToString();
  first_ok = VerifyBackup(target, first_id);
  EXPECT_TRUE(first_ok.ok()) << first_ok.ToString();
  EXPECT_EQ(Metric(*server, "parley_backup_successes_total"), 2);
  const std::string log = LogOf(*server);
  EXPECT_NE(log.find("audit: backup failed"), std::string::npos);

  std::printf(
      "[target-full] target tmpfs 4 MiB, filler %.1f MiB, %llu bytes of room: the backup "
      "failed after %.0f ms (HTTP %d: %s), %zu new objects left (whole, content-addressed), "
      "no temporary files; backup %s still verifies; after freeing the space backup %s "
      "succeeded and verifies\n[target-full] parleyd said:\n%s",
      filled / 1048576.0, static_cast<unsigned long long>(room), failed_ms, failed.status,
      failed.body.substr(0, 200).c_str(), objects_left, first_id.c_str(), next_id.c_str(),
      LinesWith(log, {"audit: backup"}).c_str());
}

}  // namespace
}  // namespace parley
