// Clock steps (issue 16, item 5; docs/faults.md "Clock steps"): parleyd runs under
// libfaketime (Debian's libfaketime), whose offset the test rewrites in a file while the
// server runs; CLOCK_MONOTONIC is left alone (FAKETIME_DONT_FAKE_MONOTONIC), as a real step
// of the wall clock (NTP, `date -s`) leaves it. Four devices in a group, with scheduled
// backups every 2 s (retention keep_last = 2, a full backup due only after an hour):
//   1. +0: messages; two scheduled backups;
//   2. the wall clock steps back 2 h: message times do not go back, history by time
//      finds the right messages over the step, rate limits refill, the next backups come
//      on time (not 2 h late) and retention keeps them although they are dated earlier
//      than the older ones;
//   3. parleyd restarts with the clock still back: still no time goes back; the tokens
//      stored before the step still authenticate;
//   4. the wall clock steps forward to +3 h: times follow, rate limits work, no full
//      backup falls due at once, a recall window has closed (wall-clock windows: documented).
// At the end every device has synced every message exactly once, in order, and the
// conversation holds each acknowledged message once.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backup/backup.h"
#include "backup/target.h"
#include "common/clock.h"
#include "tests/support/full_reads.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/metrics_text.h"
#include "tests/support/temp_dir.h"
#include "tests/support/waiting.h"

namespace parley::testing {
namespace {

constexpr char kFaketime[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
constexpr int64_t kHour = 3'600'000;
constexpr int kBackupEveryS = 2;
constexpr int kMessagesPerPhase = 12;

// The value of `series` in a /metrics page; -1 if absent.
double Metric(const std::string& page, const std::string& series) {
  return test::MetricValue(page, series).value_or(-1);
}

// One device: a connection, its login and its sync cursor with what it has synced.
struct TestDevice {
  std::string user;
  std::string name;
  LoginReply login;
  std::unique_ptr<BlockingClient> client;
  Seq cursor = 0;
  std::vector<Seq> message_seqs;  // conv_seq of each message event synced, in order
};

class ClockStepTest : public GatewayFixture {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kFaketime)) {
      GTEST_SKIP() << "libfaketime is not installed (" << kFaketime
                   << "; scripts/install-deps.sh installs it)";
    }
    auto dir = test::TempDir::Create("parley-clock-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_.emplace(std::move(dir).value());
    offset_file_ = dir_->path() + "/faketime.rc";
    backup_dir_ = dir_->path() + "/backups";
    WriteOffset("+0");
    ServerOptions opts;
    opts.config_toml = std::string(kFastHashes) + "[backup]\ntarget = \"" + backup_dir_ +
                       "\"\nincremental_every_s = " + std::to_string(kBackupEveryS) +
                       "\nfull_every_s = 3600\nkeep_last = 2\n";
    opts.preload = kFaketime;
    opts.env.push_back("FAKETIME_TIMESTAMP_FILE=" + offset_file_);
    // The file is read again at most every second (not on every call: parleyd reads the
    // clock often); the test waits until the server's `ping` shows each step.
    opts.env.push_back("FAKETIME_CACHE_DURATION=1");
    opts.env.push_back("FAKETIME_DONT_FAKE_MONOTONIC=1");
    auto s = ServerProcess::Start(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }

  // Rewritten whole and renamed into place, so libfaketime never reads half a line.
  void WriteOffset(const std::string& offset) {
    const std::string tmp = offset_file_ + ".tmp";
    std::ofstream(tmp) << offset << "\n";
    ASSERT_EQ(std::rename(tmp.c_str(), offset_file_.c_str()), 0);
  }

  // The server's wall clock, from `ping`.
  int64_t ServerMs(BlockingClient& c) {
    auto reply = c.CallRaw("ping", [](JsonWriter&) {});
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    if (!reply.ok()) return 0;
    return nlohmann::json::parse(*reply).at("ts").get<int64_t>();
  }

  // Steps parleyd's wall clock to the real time + `offset_ms` and waits until it shows.
  void StepTo(const std::string& offset, int64_t offset_ms, BlockingClient& c) {
    WriteOffset(offset);
    int64_t seen = 0;
    const bool stepped = test::WaitUntil(
        [&] {
          seen = ServerMs(c);
          return std::abs(seen - (NowMillis() + offset_ms)) < 60'000;
        },
        10s, 50ms);
    ASSERT_TRUE(stepped) << "parleyd's clock did not step to " << offset << ": it says "
                         << (seen - NowMillis()) / 1000 << " s from the real time";
    std::printf("[clock] parleyd's wall clock is now %+.1f h from the real time\n",
                static_cast<double>(seen - NowMillis()) / kHour);
  }

  std::unique_ptr<TestDevice> MakeDevice(const std::string& user, const std::string& name) {
    auto d = std::make_unique<TestDevice>();
    d->user = user;
    d->name = name;
    d->client = Device(user, name, &d->login);
    return d;
  }

  // A new connection for `d` that authenticates with its stored token.
  void Reconnect(TestDevice& d) {
    d.client = Connect();
    auto auth = d.client->Auth(d.login.token, d.login.device);
    ASSERT_TRUE(auth.ok()) << d.user << "/" << d.name
                           << ": the stored token no longer works: " << auth.status().ToString();
  }

  // Sends `n` messages to the group, round-robin over `senders`; every time acknowledged is
  // at or after the previous one.
  void SendPhase(const std::string& tag, std::vector<TestDevice*> senders, int n) {
    for (int i = 0; i < n; ++i) {
      TestDevice& d = *senders[static_cast<size_t>(i) % senders.size()];
      const std::string cmid = tag + "-" + std::to_string(i);
      auto ack = d.client->Send(conv_, tag + " message " + std::to_string(i), cmid);
      ASSERT_TRUE(ack.ok()) << cmid << ": " << ack.status().ToString();
      ASSERT_EQ(ack->seq, acked_.size() + 1) << cmid;
      EXPECT_GE(ack->server_ms, last_ms_) << cmid << ": a message dated before the last one";
      last_ms_ = std::max(last_ms_, ack->server_ms);
      acked_.push_back(cmid);
      acked_ms_.push_back(ack->server_ms);
    }
  }

  // The history read back by time: server_ms never decreases along seq, and a page around
  // any time starts its later half at the first message at or after that time. Paging back
  // from there with `before` visits every earlier message once.
  void CheckHistoryByTime(BlockingClient& c) {
    const auto all = test::HistoryForward(c, conv_);
    ASSERT_EQ(all.size(), acked_.size());
    for (size_t i = 1; i < all.size(); ++i) {
      ASSERT_GE(all[i].server_ms, all[i - 1].server_ms) << "seq " << all[i].seq;
    }
    std::set<int64_t> times;
    for (const auto& m : all) {
      times.insert(m.server_ms - 1);
      times.insert(m.server_ms);
      times.insert(m.server_ms + 1);
    }
    for (int64_t t : times) {
      const auto first = std::find_if(all.begin(), all.end(),
                                      [&](const MessageRecord& m) { return m.server_ms >= t; });
      client::HistoryQuery q;
      q.around_ts = t;
      q.limit = 4;
      auto page = c.History(conv_, q);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      ASSERT_FALSE(page->messages.empty()) << "around_ts " << t;
      if (first == all.end()) {
        EXPECT_EQ(page->messages.back().seq, all.back().seq) << "around_ts " << t;
        continue;
      }
      const auto pivot = std::find_if(page->messages.begin(), page->messages.end(),
                                      [&](const MessageRecord& m) { return m.server_ms >= t; });
      ASSERT_NE(pivot, page->messages.end()) << "around_ts " << t;
      EXPECT_EQ(pivot->seq, first->seq) << "around_ts " << t;
    }
    // Back from the page around the oldest time of the last phase, to the start.
    client::HistoryQuery q;
    q.around_ts = acked_ms_[acked_ms_.size() - kMessagesPerPhase];
    q.limit = 5;
    auto page = c.History(conv_, q);
    ASSERT_TRUE(page.ok() && !page->messages.empty());
    std::vector<Seq> seqs;
    for (const auto& m : page->messages) seqs.push_back(m.seq);
    for (int pages = 0; page->has_more_before && pages < 100; ++pages) {
      client::HistoryQuery back;
      back.before = seqs.front();
      back.limit = 5;
      page = c.History(conv_, back);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      std::vector<Seq> older;
      for (const auto& m : page->messages) older.push_back(m.seq);
      seqs.insert(seqs.begin(), older.begin(), older.end());
    }
    for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
  }

  // A burst of typing notices in one conversation (1/s, burst 3 per user and conversation
  // by default) ends in `rate_limited` with a wait of about a second, and after that wait a
  // notice goes through: the buckets run on the steady clock, whatever the wall clock did.
  void CheckTypingLimit(BlockingClient& c, const std::string& when) {
    auto typing = [&](int64_t* retry) {
      return c.CallRaw(
          "typing", [&](JsonWriter& w) { w.Key("conv").Uint(conv_); }, retry);
    };
    int64_t retry = -1;
    int accepted = 0;
    Status refused;
    for (int i = 0; i < 20; ++i) {
      auto r = typing(&retry);
      if (!r.ok()) {
        refused = r.status();
        break;
      }
      ++accepted;
    }
    EXPECT_EQ(refused.code(), Code::kRateLimited) << when << ": " << refused.ToString();
    EXPECT_GE(accepted, 1) << when;
    EXPECT_LE(accepted, 10) << when;
    EXPECT_GT(retry, 0) << when;
    EXPECT_LE(retry, 1'000) << when << ": retry_after_ms " << retry;
    std::printf("[clock] %s: %d typing notices, then rate_limited with retry_after_ms %lld\n",
                when.c_str(), accepted, static_cast<long long>(retry));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<int64_t>(retry, 0, 1'000)));
    bool again = test::WaitUntil([&] { return typing(nullptr).ok(); }, 3s, 50ms);
    EXPECT_TRUE(again) << when << ": typing still refused after retry_after_ms";
  }

  int64_t BackupsDone() {
    auto page = server_->HttpGet("/metrics");
    return page.ok() ? static_cast<int64_t>(Metric(*page, "parley_backup_successes_total")) : -1;
  }

  // Waits for `n` more scheduled backups than `from`; returns how long each took to come,
  // from the previous one (or from the call).
  std::vector<double> WaitForBackups(int64_t from, int n, const std::string& when) {
    std::vector<double> gaps;
    auto since = std::chrono::steady_clock::now();
    int64_t done = from;
    for (int i = 0; i < n; ++i) {
      const bool came = test::WaitUntil([&] { return BackupsDone() > done; }, 30s, 20ms);
      EXPECT_TRUE(came) << when << ": scheduled backup " << i + 1 << " of " << n
                        << " did not come within 30 s (schedule on the wall clock?)";
      if (!came) break;
      const auto now = std::chrono::steady_clock::now();
      gaps.push_back(std::chrono::duration<double>(now - since).count());
      since = now;
      done = BackupsDone();
    }
    std::string list;
    for (double g : gaps) list += " " + std::to_string(g).substr(0, 4) + " s";
    std::printf("[clock] %s: backups came after%s (every %d s scheduled)\n", when.c_str(),
                list.c_str(), kBackupEveryS);
    return gaps;
  }

  std::vector<backup::Manifest> Backups() {
    auto target = backup::OpenDirTarget(backup_dir_);
    EXPECT_TRUE(target.ok()) << target.status().ToString();
    if (!target.ok()) return {};
    auto listed = backup::ListAll(**target, std::nullopt, NowMillis() + 10 * kHour);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    std::vector<backup::Manifest> out;
    if (!listed.ok()) return out;
    for (auto& entry : *listed) {
      EXPECT_TRUE(entry.status.ok()) << entry.id << ": " << entry.status.ToString();
      if (entry.status.ok()) out.push_back(entry.manifest);
    }
    return out;
  }

  // Pulls everything after the device's cursor, noting the group's message events.
  void SyncDevice(TestDevice& d) {
    for (int page = 0; page < 100; ++page) {
      auto r = d.client->Sync(d.cursor, 100);
      ASSERT_TRUE(r.ok()) << d.user << "/" << d.name << ": " << r.status().ToString();
      for (const auto& item : r->items) {
        ASSERT_EQ(item.event.user_seq, d.cursor + 1) << d.user << "/" << d.name << ": a gap";
        d.cursor = item.event.user_seq;
        if (item.event.type == EventType::kMessage && item.event.conv_id == conv_) {
          d.message_seqs.push_back(item.event.conv_seq);
        }
      }
      d.cursor = std::max(d.cursor, r->next);
      if (!r->has_more) break;
    }
  }

  std::optional<test::TempDir> dir_;
  std::string offset_file_;
  std::string backup_dir_;
  ConvId conv_ = 0;
  int64_t last_ms_ = 0;
  std::vector<std::string> acked_;  // client_msg_id by seq - 1
  std::vector<int64_t> acked_ms_;   // server_ms by seq - 1
};

TEST_F(ClockStepTest, StepsBackAndForwardKeepTimesOrderBackupsAndLimits) {
  std::vector<std::unique_ptr<TestDevice>> devices;
  devices.push_back(MakeDevice("alice", "phone"));
  devices.push_back(MakeDevice("alice", "laptop"));
  devices.push_back(MakeDevice("bob", "phone"));
  devices.push_back(MakeDevice("carol", "phone"));
  auto group = devices[0]->client->CreateGroup("clock", {"bob", "carol"});
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  conv_ = group->id;
  std::vector<TestDevice*> senders = {devices[0].get(), devices[2].get(), devices[3].get()};
  auto sync_all = [&] {
    for (auto& d : devices) ASSERT_NO_FATAL_FAILURE(SyncDevice(*d));
  };
  BlockingClient& probe = *devices[1]->client;

  // 1. The real time: messages and two scheduled backups.
  ASSERT_NO_FATAL_FAILURE(StepTo("+0", 0, probe));
  ASSERT_NO_FATAL_FAILURE(SendPhase("before", senders, kMessagesPerPhase));
  WaitForBackups(0, 2, "at the real time");
  ASSERT_NO_FATAL_FAILURE(sync_all());

  // 2. Back 2 h.
  ASSERT_NO_FATAL_FAILURE(StepTo("-2h", -2 * kHour, probe));
  const int64_t backups_at_step = BackupsDone();
  ASSERT_NO_FATAL_FAILURE(SendPhase("back", senders, kMessagesPerPhase));
  // They wait near the last time (not at the stepped clock, nor ahead of the real time).
  EXPECT_LE(last_ms_, NowMillis()) << "times wait at the last one until the clock catches up";
  ASSERT_NO_FATAL_FAILURE(CheckHistoryByTime(probe));
  CheckTypingLimit(*devices[2]->client, "2 h back");
  // The first may have started before the step; the next two are dated 2 h back.
  auto gaps = WaitForBackups(backups_at_step, 3, "2 h back");
  for (double g : gaps) EXPECT_LT(g, 5.0 * kBackupEveryS) << "a backup came late";
  {
    // Dated 2 h before the older ones, and kept by keep_last = 2 all the same.
    const int64_t step_real_ms = NowMillis();
    int dated_back = 0;
    for (const auto& m : Backups()) dated_back += m.created_ms < step_real_ms - kHour;
    EXPECT_GE(dated_back, 2) << "retention deleted the backups made after the step back";
    std::printf("[clock] 2 h back: %d backups dated 2 h back kept, %zu in all\n", dated_back,
                Backups().size());
  }
  ASSERT_NO_FATAL_FAILURE(sync_all());

  // 3. A restart with the clock still back: the new process has no memory of the times.
  auto stopped = server_->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  ASSERT_TRUE(server_->Restart().ok());
  for (auto& d : devices) ASSERT_NO_FATAL_FAILURE(Reconnect(*d));
  ASSERT_NO_FATAL_FAILURE(StepTo("-2h", -2 * kHour, *devices[1]->client));
  ASSERT_NO_FATAL_FAILURE(SendPhase("restarted", senders, kMessagesPerPhase));
  EXPECT_LE(last_ms_, NowMillis()) << "after the restart, times still wait";
  ASSERT_NO_FATAL_FAILURE(CheckHistoryByTime(*devices[1]->client));
  WaitForBackups(0, 1, "restarted 2 h back");
  ASSERT_NO_FATAL_FAILURE(sync_all());

  // 4. Forward to +3 h (5 h at once).
  const std::string recallable = acked_.back();
  const Seq recall_seq = acked_.size();
  ASSERT_NO_FATAL_FAILURE(StepTo("+3h", 3 * kHour, *devices[1]->client));
  const int64_t step_forward_real = NowMillis();
  const int64_t backups_at_forward = BackupsDone();
  ASSERT_NO_FATAL_FAILURE(SendPhase("forward", senders, kMessagesPerPhase));
  EXPECT_GT(last_ms_, NowMillis() + 2 * kHour) << "times follow a forward step";
  ASSERT_NO_FATAL_FAILURE(CheckHistoryByTime(*devices[1]->client));
  CheckTypingLimit(*devices[2]->client, "3 h ahead");
  gaps = WaitForBackups(backups_at_forward, 2, "3 h ahead");
  for (double g : gaps) EXPECT_LT(g, 5.0 * kBackupEveryS) << "a backup came late";
  int after_forward = 0;
  for (const auto& m : Backups()) {
    if (m.created_ms < step_forward_real + 2 * kHour) continue;
    ++after_forward;
    EXPECT_EQ(m.kind, "incremental") << m.id << ": a full backup is due only an hour after start";
  }
  EXPECT_GE(after_forward, 1);
  // Recall windows are wall-clock windows (docs/faults.md): 5 h later, the 120 s are over.
  // The message's sender is the one who sent it last in round-robin order.
  TestDevice& last_sender = *senders[static_cast<size_t>(kMessagesPerPhase - 1) % senders.size()];
  EXPECT_EQ(last_sender.client->Recall(conv_, recall_seq).code(), Code::kRecallWindowPassed)
      << recallable;
  // Tokens issued 5 h of wall time ago still authenticate (their lifetime is 30 days).
  for (auto& d : devices) ASSERT_NO_FATAL_FAILURE(Reconnect(*d));

  // Every device synced every message once, in order; the conversation holds each
  // acknowledged message once, where its ack put it.
  ASSERT_NO_FATAL_FAILURE(sync_all());
  for (auto& d : devices) {
    ASSERT_EQ(d->message_seqs.size(), acked_.size()) << d->user << "/" << d->name;
    for (size_t i = 0; i < d->message_seqs.size(); ++i) {
      EXPECT_EQ(d->message_seqs[i], i + 1) << d->user << "/" << d->name;
    }
  }
  const auto history = test::HistoryForward(*devices[1]->client, conv_);
  ASSERT_EQ(history.size(), acked_.size());
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].client_msg_id, acked_[i]) << "seq " << history[i].seq;
  }
  std::printf("[clock] %zu messages; every device synced each once, in order\n", acked_.size());
}

}  // namespace
}  // namespace parley::testing
