// The cluster chaos test of issue 13 ("Proof"): the whole kit (scripts/cluster.sh — a
// PostgreSQL primary + sync standby, Redis, HAProxy, parleyd n1..n3) in a temporary state
// dir; 50 users with 2 devices each, every device a ReliableClient connected through
// HAProxy, in direct pairs and groups of 8, sending at a modest rate while the cluster is
// hurt on a schedule: every 10 s a random node is SIGKILLed and restarted 2 s later, once
// the PostgreSQL primary is SIGKILLed and the standby promoted, once Redis is stopped for
// 5 s. Then every device drains its journal and catches up, and the test checks what the
// issue promises: every acked (sender, client_msg_id) stored exactly once at its acked
// seq, conv_seq gapless, each device's timeline 1..N exactly once in order (handled events
// plus its own acks' user_seqs, see reliable_client.h), history paged both ways equal to
// the acked set, and search finding messages sent during the chaos (English and Chinese).
// It prints the failover times it observed and one summary line.
//
// Length: 120 s of chaos and 50 users; PARLEY_CHAOS_SECONDS / PARLEY_CHAOS_USERS make it
// shorter (the sanitizer build sets 60 s and 30 users in tests/CMakeLists.txt).
// PARLEY_KEEP_TEST_DIRS keeps the state dir (node, HAProxy and PostgreSQL logs) to look at.
// Every wait is a poll with a deadline; the only sleeps are the chaos schedule's own.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/blocking_client.h"
#include "client/reliable_client.h"
#include "client/state_store.h"
#include "tests/support/command.h"
#include "tests/support/full_reads.h"
#include "tests/support/temp_dir.h"
#include "tests/support/waiting.h"

namespace parley {
namespace {

using client::BlockingClient;
using client::ReliableClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- the kit -------------------------------------------------------------------------

// scripts/cluster.sh on a state dir of its own; `down` when it goes away, whatever
// happened (the TempDir then removes the state).
class Kit {
 public:
  explicit Kit(const std::string& state_dir) : state_(state_dir) {}
  ~Kit() {
    std::string out;
    if (up_ && Run("down", &out) != 0)
      std::fprintf(stderr, "cluster down failed:\n%s", out.c_str());
  }
  // `up` with the test's node and [limits] settings; ports from a base that differs per
  // process.
  bool Up(const std::string& node_toml, const std::string& limits_toml, std::string* out) {
    up_ = true;
    const int base = 21000 + static_cast<int>(::getpid() % 300) * 20;
    return RunEnv("PARLEY_CLUSTER_PORT=" + std::to_string(base) +
                      " PARLEY_CLUSTER_ENGINE=postgres PARLEY_CLUSTER_NODE_TOML=" + node_toml +
                      " PARLEY_CLUSTER_LIMITS_TOML=" + limits_toml,
                  "up", out) == 0;
  }
  int Run(const std::string& args, std::string* out = nullptr) { return RunEnv("", args, out); }

 private:
  int RunEnv(const std::string& env, const std::string& args, std::string* out) {
    std::string build = PARLEYD_PATH;
    build.resize(build.rfind('/'));
    std::string ignored;
    return test::RunCommand("PARLEY_CLUSTER_DIR=" + state_ + " PARLEY_CLUSTER_BUILD=" + build +
                                " " + env + " " PARLEY_SOURCE_DIR "/scripts/cluster.sh " + args +
                                " 2>&1",
                            out != nullptr ? out : &ignored);
  }
  std::string state_;
  bool up_ = false;
};

// ---- devices -------------------------------------------------------------------------

// One send as the test issued it, and how it ended.
struct SendRecord {
  std::string client_msg_id;
  ConvId conv = 0;
  std::string body;
  Clock::time_point issued;
  bool done = false;
  bool acked = false;
  SendAck ack;
  Clock::time_point acked_at;
  std::string error;  // a definitive refusal
};

// A device: its ReliableClient and what it observed (guarded by mu).
struct ChaosDevice {
  int user = 0;  // index into the users
  std::string name;
  std::unique_ptr<client::FileStateStore> state;
  std::unique_ptr<ReliableClient> client;
  std::mutex mu;
  std::vector<Seq> handled;  // user_seqs handed to the handler, in order
  std::vector<Seq> own;      // user_seqs of its acked sends (0s left out)
  std::vector<SendRecord> sends;
  std::vector<Clock::time_point> disconnects, connects;
  size_t pending = 0;  // sends issued and not done
  bool order_broken = false;
  int next_conv = 0;
};

struct ChaosUser {
  std::string name;
  UserId id = 0;
  std::vector<LoginReply> logins;  // one per device
  std::vector<ConvId> convs;       // direct first, then its group if any
};

// Every conversation's member user indexes.
struct ChaosConv {
  ConvId id = 0;
  std::vector<int> members;
};

std::unique_ptr<BlockingClient> Connect(const std::string& url) {
  client::ConnectOptions o;
  o.url = url;
  // Through HAProxy right after `up` or after the chaos: a node may still be coming up.
  Status st;
  for (auto end = Clock::now() + 30s; Clock::now() < end;) {
    auto c = std::make_unique<BlockingClient>(o, 30s);
    st = c->Connect();
    if (st.ok()) return c;
    std::this_thread::sleep_for(100ms);  // retry interval
  }
  ADD_FAILURE() << "cannot connect through HAProxy: " << st.ToString();
  return nullptr;
}

// A checker session of `user`'s first device (its token).
std::unique_ptr<BlockingClient> Checker(const std::string& url, const ChaosUser& user) {
  auto c = Connect(url);
  if (c == nullptr) return nullptr;
  auto a = c->Auth(user.logins[0].token, user.logins[0].device);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? std::move(c) : nullptr;
}

std::vector<MessageRecord> HistoryBackward(BlockingClient& c, ConvId conv) {
  std::vector<MessageRecord> out;  // newest first while paging
  client::HistoryQuery q;
  q.limit = 100;
  for (int page = 0; page < 1000; ++page) {
    auto r = c.History(conv, q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->messages.empty()) break;
    out.insert(out.end(), r->messages.rbegin(), r->messages.rend());
    q.before = r->messages.front().seq;
    if (!r->has_more_before) break;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// Search bodies: a word no other message has, so a hit is that message.
std::string EnglishProbe(int n) {
  std::string word = "chaosprobe";
  for (int i = 0; i < 3; ++i, n /= 26) word += static_cast<char>('a' + n % 26);
  return word;
}
std::string ChineseProbe(int n) {
  static const char* kDigits[] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
  std::string s = "会议纪要";
  s += kDigits[n / 100 % 10];
  s += kDigits[n / 10 % 10];
  s += kDigits[n % 10];
  return s + "号";
}

struct Median {
  std::vector<double> v;
  std::string Str() {
    if (v.empty()) return "n/a";
    std::sort(v.begin(), v.end());
    char buf[64];
    std::snprintf(buf, sizeof buf, "median %.2fs max %.2fs (n=%zu)", v[v.size() / 2], v.back(),
                  v.size());
    return buf;
  }
};

TEST(ClusterChaosTest, NodeDatabaseAndRedisFailuresLoseAndDuplicateNothing) {
  const int chaos_s = EnvInt("PARLEY_CHAOS_SECONDS", 120);
  const int user_count = EnvInt("PARLEY_CHAOS_USERS", 50);
  const int send_period_ms = EnvInt("PARLEY_CHAOS_SEND_PERIOD_MS", 2000);  // per device
  const unsigned seed = static_cast<unsigned>(EnvInt("PARLEY_CHAOS_SEED", 13));
  constexpr int kDevicesPerUser = 2, kGroupSize = 8, kMaxPendingPerDevice = 20;
  const auto test_start = Clock::now();

  test::TempDir dir("parley-chaos-");
  struct KeepOnFailure {  // runs after the kit's `down`, before the directory goes
    test::TempDir* dir;
    ~KeepOnFailure() {
      if (!::testing::Test::HasFailure()) return;
      dir->Keep();
      std::printf("chaos: state kept in %s (logs: cluster/nodes/*/parleyd.log, cluster/pg)\n",
                  dir->path().c_str());
    }
  } keep_on_failure{&dir};
  // As root the kit runs PostgreSQL as `postgres`, which must reach STATE/pg.
  ::chmod(dir.path().c_str(), 0755);
  // The devices' state files are fsynced on every event; on tmpfs when there is one, so
  // that 100 devices do not compete with PostgreSQL's own fsyncs for the disk.
  auto states = test::TempDir::Create("parley-chaos-devices-", "/dev/shm");
  if (!states.ok()) states = test::TempDir::Create("parley-chaos-devices-");
  ASSERT_TRUE(states.ok()) << states.status().ToString();
  {
    std::ofstream toml(dir.Sub("node.toml"));
    toml << "[accounts]\npassword_hash = \"min\"\n";  // send limits: the defaults (500/s)
  }
  {
    // Every device comes from 127.0.0.1 (HAProxy names it in X-Forwarded-For): the
    // per-address limits off (0). These values also reach the cross-node limits: with a
    // rate of 0 read as "never refills", the nodes once refused every connection
    // cluster-wide after 1,000 of them, and this test is what found it.
    std::ofstream limits(dir.Sub("limits.toml"));
    limits << "max_connections_per_ip = 0\nhandshake_rate_per_ip = 0\nregister_rate_per_ip = 0\n";
  }
  Kit kit(dir.Sub("cluster"));
  std::string out;
  ASSERT_TRUE(kit.Up(dir.Sub("node.toml"), dir.Sub("limits.toml"), &out)) << out;
  std::printf("%s", out.c_str());
  ASSERT_EQ(kit.Run("url", &out), 0) << out;
  const std::string url = out.substr(0, out.find('\n'));

  // ---- users, devices, conversations (BlockingClient through HAProxy) ----
  std::vector<ChaosUser> users(user_count);
  for (int u = 0; u < user_count; ++u) {  // a connection each: auth attempts are limited
    auto c = Connect(url);
    ASSERT_NE(c, nullptr);
    users[u].name = "chaos" + std::to_string(u);
    auto reg = c->Register(users[u].name, users[u].name + "-pw");
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    users[u].id = reg->id;
  }
  for (int u = 0; u < user_count; ++u) {
    for (int d = 0; d < kDevicesPerUser; ++d) {
      auto c = Connect(url);
      ASSERT_NE(c, nullptr);
      auto l = c->Login(users[u].name, users[u].name + "-pw", "d" + std::to_string(d));
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      users[u].logins.push_back(*l);
    }
  }
  std::vector<ChaosConv> convs;
  for (int u = 0; u + 1 < user_count; u += 2) {  // direct pairs
    auto c = Checker(url, users[u]);
    ASSERT_NE(c, nullptr);
    auto conv = c->OpenDirect(client::UserArg{users[u + 1].id});
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    convs.push_back({conv->id, {u, u + 1}});
  }
  for (int g = 0; (g + 1) * kGroupSize <= user_count; ++g) {  // groups of 8
    auto c = Checker(url, users[g * kGroupSize]);
    ASSERT_NE(c, nullptr);
    std::vector<client::UserArg> others;
    std::vector<int> members = {g * kGroupSize};
    for (int i = 1; i < kGroupSize; ++i) {
      others.emplace_back(users[g * kGroupSize + i].id);
      members.push_back(g * kGroupSize + i);
    }
    auto conv = c->CreateGroup("chaos group " + std::to_string(g), others);
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    convs.push_back({conv->id, members});
  }
  for (const auto& conv : convs) {
    for (int m : conv.members) users[m].convs.push_back(conv.id);
  }

  // ---- the devices ----
  std::vector<std::unique_ptr<ChaosDevice>> devices;
  for (int u = 0; u < user_count; ++u) {
    for (int d = 0; d < kDevicesPerUser; ++d) {
      auto dev = std::make_unique<ChaosDevice>();
      dev->user = u;
      dev->name = users[u].name + "/d" + std::to_string(d);
      dev->state = std::make_unique<client::FileStateStore>(
          states->Sub(users[u].name + "-d" + std::to_string(d) + ".json"));
      client::SessionState s;
      s.server = url;
      s.user = users[u].id;
      s.name = users[u].name;
      s.token = users[u].logins[d].token;
      s.device = users[u].logins[d].device;
      ASSERT_TRUE(dev->state->Save(s).ok());
      ReliableClient::Options o;
      o.connect.url = url;
      o.backoff_max_ms = 1000;  // back quickly once HAProxy has a node again
      ChaosDevice* raw = dev.get();
      o.on_connection = [raw](bool connected, const Status&) {
        std::lock_guard<std::mutex> lock(raw->mu);
        (connected ? raw->connects : raw->disconnects).push_back(Clock::now());
      };
      dev->client =
          std::make_unique<ReliableClient>(o, dev->state.get(), [raw](const SyncItem& it) {
            std::lock_guard<std::mutex> lock(raw->mu);
            if (!raw->handled.empty() && it.event.user_seq <= raw->handled.back()) {
              raw->order_broken = true;
            }
            raw->handled.push_back(it.event.user_seq);
          });
      devices.push_back(std::move(dev));
    }
  }
  for (auto& d : devices) d->client->Start();
  ASSERT_TRUE(test::WaitUntil(
      [&] {
        return std::all_of(devices.begin(), devices.end(),
                           [](const auto& d) { return d->client->connected(); });
      },
      60s, 20ms))
      << "not every device connected through HAProxy";

  // ---- senders: every device one send per period (jittered start), bounded backlog ----
  std::atomic<bool> sending{true};
  std::atomic<int> probes{0};
  std::mutex probe_mu;
  std::vector<std::pair<size_t, size_t>> probe_sends;  // (device, send index)
  auto issue = [&](size_t di) {
    ChaosDevice& d = *devices[di];
    const ChaosUser& u = users[d.user];
    size_t index;
    client::OutgoingMessage m;
    {
      std::lock_guard<std::mutex> lock(d.mu);
      if (d.pending >= kMaxPendingPerDevice) return;  // an outage: do not pile up
      index = d.sends.size();
      m.conv = u.convs[d.next_conv++ % u.convs.size()];
      m.client_msg_id = d.name + "#" + std::to_string(index);
      m.body = "message " + std::to_string(index) + " from " + d.name;
      // About one send in 100, spread over devices and time, is a search probe.
      if ((di * 31 + index) % 97 == 0 && probes.load() < 64) {
        const int n = probes++;
        m.body = n % 2 == 0 ? "meeting notes " + EnglishProbe(n) + " about the failover"
                            : "我们讨论数据库迁移，" + ChineseProbe(n);
        std::lock_guard<std::mutex> plock(probe_mu);
        probe_sends.emplace_back(di, index);
      }
      SendRecord r;
      r.client_msg_id = m.client_msg_id;
      r.conv = m.conv;
      r.body = m.body;
      r.issued = Clock::now();
      d.sends.push_back(r);
      ++d.pending;
    }
    d.client->Send(std::move(m), [&d, index](Result<SendAck> result) {
      std::lock_guard<std::mutex> lock(d.mu);
      SendRecord& r = d.sends[index];
      if (r.done) return;  // a stopped client's kUnavailable after the real completion
      if (!result.ok() && result.status().code() == Code::kUnavailable) return;  // Stop()
      r.done = true;
      --d.pending;
      if (result.ok()) {
        r.acked = true;
        r.ack = *result;
        r.acked_at = Clock::now();
        if (result->user_seq != 0) d.own.push_back(result->user_seq);
      } else {
        r.error = result.status().ToString();
      }
    });
  };
  std::thread sender([&] {
    std::vector<Clock::time_point> next(devices.size());
    std::mt19937 rng(seed);
    for (size_t i = 0; i < devices.size(); ++i) {
      next[i] = Clock::now() + std::chrono::milliseconds(rng() % send_period_ms);
    }
    const auto end = Clock::now() + std::chrono::seconds(chaos_s + 30);  // a hard bound
    while (sending.load() && Clock::now() < end) {
      const auto now = Clock::now();
      for (size_t i = 0; i < devices.size(); ++i) {
        if (now < next[i]) continue;
        issue(i);
        next[i] += std::chrono::milliseconds(send_period_ms);
      }
      std::this_thread::sleep_for(20ms);  // the send schedule's tick
    }
  });

  // ---- the chaos schedule ----
  struct NodeKill {
    Clock::time_point at;
  };
  std::vector<NodeKill> node_kills;
  std::optional<Clock::time_point> pg_killed;
  double promote_s = 0;
  std::vector<std::string> chaos_errors;
  const int pg_at = 10 * std::max(1, chaos_s * 35 / 1000) + 5;  // between two node kills
  const int redis_at = pg_at + 10 * std::max(1, chaos_s / 40);  // later, likewise
  {
    const auto t0 = Clock::now();
    std::mt19937 rng(seed);
    auto at = [&](int s) { std::this_thread::sleep_until(t0 + std::chrono::seconds(s)); };
    auto run = [&](const std::string& what) {
      std::string o;
      if (kit.Run(what, &o) != 0) chaos_errors.push_back(what + ": " + o);
      return o;
    };
    for (int t = 10; t < chaos_s; t += 10) {
      at(t);
      const std::string node = "n" + std::to_string(1 + rng() % 3);
      node_kills.push_back({Clock::now()});
      run("kill " + node);
      at(t + 2);
      run("restart " + node);
      if (t + 5 == pg_at) {
        at(pg_at);
        pg_killed = Clock::now();
        // The script prints when it sent SIGKILL ("… at EPOCH" on the wall clock).
        const std::string said = run("pg kill-primary");
        if (const auto pos = said.rfind(" at "); pos != std::string::npos) {
          const double epoch = std::atof(said.c_str() + pos + 4);
          const double ago =
              std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                  .count() -
              epoch;
          if (epoch > 0 && ago >= 0 && ago < 30) {
            pg_killed = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(ago));
          }
        }
        run("pg promote");
        promote_s = Seconds(Clock::now() - *pg_killed);
        std::printf("chaos: PostgreSQL primary killed, standby promoted in %.2fs\n", promote_s);
      }
      if (t + 5 == redis_at && redis_at + 5 < chaos_s) {
        at(redis_at);
        run("kill redis");
        at(redis_at + 5);
        run("restart redis");
        std::printf("chaos: Redis stopped for 5 s\n");
      }
    }
    at(chaos_s);
  }
  sending = false;
  sender.join();
  const auto chaos_end = Clock::now();
  for (const auto& e : chaos_errors) ADD_FAILURE() << "chaos step failed: " << e;
  EXPECT_TRUE(pg_killed.has_value()) << "the schedule never reached the PostgreSQL failover";
  EXPECT_EQ(kit.Run("status", &out), 0) << out;
  std::printf("%s", out.c_str());

  // ---- drain: every journal empty, then every device at its user's last user_seq ----
  const bool drained = test::WaitUntil(
      [&] {
        return std::all_of(devices.begin(), devices.end(),
                           [](const auto& d) { return d->client->pending_sends() == 0; });
      },
      120s, 50ms);
  EXPECT_TRUE(drained) << "journals not drained within 120 s";
  std::vector<std::unique_ptr<BlockingClient>> checkers;
  std::vector<std::vector<SyncItem>> timelines(user_count);
  for (int u = 0; u < user_count; ++u) {
    checkers.push_back(Checker(url, users[u]));
    ASSERT_NE(checkers.back(), nullptr);
    timelines[u] = test::SyncAll(*checkers.back());
  }
  const bool caught_up = test::WaitUntil(
      [&] {
        return std::all_of(devices.begin(), devices.end(), [&](const auto& d) {
          return d->client->cursor() >= timelines[d->user].size();
        });
      },
      60s, 50ms);
  EXPECT_TRUE(caught_up) << "devices did not reach their users' last user_seq within 60 s";
  uint64_t reconnects = 0;
  for (auto& d : devices) {
    reconnects += d->client->reconnects();
    d->client->Stop();
  }

  // ---- every device: handled seqs strictly increasing; with its own acks exactly 1..N ----
  size_t sent = 0, acked = 0, duplicates = 0, refused = 0;
  // Acked sends by (sender user, client_msg_id) -> the record.
  std::map<std::pair<UserId, std::string>, const SendRecord*> acked_by_key, unacked_by_key;
  for (auto& d : devices) {
    std::lock_guard<std::mutex> lock(d->mu);
    const size_t n = timelines[d->user].size();
    EXPECT_FALSE(d->order_broken) << d->name << ": handler seqs not strictly increasing";
    std::set<Seq> seen(d->handled.begin(), d->handled.end());
    EXPECT_EQ(seen.size(), d->handled.size()) << d->name << ": an event handled twice";
    seen.insert(d->own.begin(), d->own.end());
    EXPECT_EQ(seen.size(), n) << d->name << ": handled + own seqs are not 1..N";
    if (!seen.empty()) {
      EXPECT_EQ(*seen.begin(), 1u) << d->name;
      EXPECT_EQ(*seen.rbegin(), n) << d->name;
    }
    for (const auto& r : d->sends) {
      ++sent;
      const auto key = std::make_pair(users[d->user].id, r.client_msg_id);
      if (r.acked) {
        ++acked;
        duplicates += r.ack.duplicate ? 1 : 0;
        acked_by_key[key] = &r;
      } else {
        refused += r.error.empty() ? 0 : 1;
        unacked_by_key[key] = &r;
        if (!r.error.empty()) ADD_FAILURE() << d->name << " " << r.client_msg_id << ": " << r.error;
      }
    }
  }
  EXPECT_EQ(acked, sent) << "sends never acknowledged (still journaled or refused)";

  // ---- every conversation: gapless, both paging directions equal, = the acked set ----
  std::map<ConvId, size_t> acked_per_conv;
  for (const auto& [key, r] : acked_by_key) ++acked_per_conv[r->conv];
  size_t unacked_present = 0;
  std::map<ConvId, size_t> stored_per_conv;
  for (const auto& conv : convs) {
    BlockingClient& c = *checkers[conv.members[0]];
    const auto fwd = test::HistoryForward(c, conv.id);
    const auto back = HistoryBackward(c, conv.id);
    ASSERT_EQ(fwd.size(), back.size()) << "conv " << conv.id << ": paging directions differ";
    stored_per_conv[conv.id] = fwd.size();
    std::set<std::pair<UserId, std::string>> keys;
    size_t from_acked = 0;
    for (size_t i = 0; i < fwd.size(); ++i) {
      const MessageRecord& m = fwd[i];
      EXPECT_EQ(m.seq, i + 1) << "conv " << conv.id << ": conv_seq gap";
      EXPECT_EQ(back[i].seq, m.seq);
      EXPECT_EQ(back[i].body, m.body);
      const auto key = std::make_pair(m.sender, m.client_msg_id);
      EXPECT_TRUE(keys.insert(key).second)
          << "conv " << conv.id << ": " << m.client_msg_id << " stored twice";
      if (auto it = acked_by_key.find(key); it != acked_by_key.end()) {
        ++from_acked;
        EXPECT_EQ(it->second->ack.seq, m.seq) << m.client_msg_id << " not at its acked seq";
        EXPECT_EQ(it->second->body, m.body);
        EXPECT_EQ(it->second->conv, conv.id);
      } else if (unacked_by_key.count(key) != 0) {
        ++unacked_present;  // at most once: the keys set above
      } else {
        ADD_FAILURE() << "conv " << conv.id << ": a message nobody sent: " << m.client_msg_id;
      }
    }
    EXPECT_EQ(from_acked, acked_per_conv[conv.id])
        << "conv " << conv.id << ": acked messages missing from history";
  }
  // Each user's timeline carries every message of its conversations once.
  for (int u = 0; u < user_count; ++u) {
    std::set<std::pair<ConvId, Seq>> msgs;
    for (const auto& item : timelines[u]) {
      if (item.event.type != EventType::kMessage) continue;
      EXPECT_TRUE(msgs.insert({item.event.conv_id, item.event.conv_seq}).second)
          << users[u].name << ": one message twice in the timeline";
    }
    size_t expected = 0;
    for (ConvId conv : users[u].convs) expected += stored_per_conv[conv];
    EXPECT_EQ(msgs.size(), expected) << users[u].name << ": timeline and histories differ";
  }

  // ---- search finds the probes sent during the chaos (each node indexes the feed) ----
  size_t probes_found = 0, probes_checked = 0;
  const auto search_deadline = Clock::now() + 30s;
  for (const auto& [di, index] : probe_sends) {
    const ChaosDevice& d = *devices[di];
    const SendRecord& r = d.sends[index];
    if (!r.acked) continue;
    ++probes_checked;
    client::SearchArgs args;
    args.q = r.body.find("chaosprobe") != std::string::npos
                 ? r.body.substr(r.body.find("chaosprobe"), 13)
                 : r.body.substr(r.body.find("会议纪要"));
    args.conv = r.conv;
    args.limit = 50;
    bool found = false;
    while (!found) {
      auto res = checkers[d.user]->Search(args);
      ASSERT_TRUE(res.ok()) << res.status().ToString();
      for (const auto& hit : res->hits) found |= hit.seq == r.ack.seq && hit.conv == r.conv;
      if (found || Clock::now() > search_deadline) break;
      std::this_thread::sleep_for(50ms);  // poll interval while the nodes index
    }
    probes_found += found ? 1 : 0;
    EXPECT_TRUE(found) << "search did not find \"" << args.q << "\" (" << r.client_msg_id << ")";
  }
  EXPECT_GE(probes_checked, 4u) << "too few search probes were sent";

  // ---- failover times, from the clients' side ----
  // A node kill: the devices that lost their connection within 3 s of it; reconnected =
  // their next connect, acks resumed = their first ack after the disconnect.
  Median node_reconnect, node_acks;
  for (const auto& kill : node_kills) {
    for (auto& d : devices) {
      std::lock_guard<std::mutex> lock(d->mu);
      auto lost = std::find_if(d->disconnects.begin(), d->disconnects.end(),
                               [&](auto t) { return t >= kill.at && t < kill.at + 3s; });
      if (lost == d->disconnects.end()) continue;
      if (pg_killed && *lost >= *pg_killed - 1s && *lost < *pg_killed + 15s) continue;
      auto back =
          std::find_if(d->connects.begin(), d->connects.end(), [&](auto t) { return t > *lost; });
      if (back != d->connects.end()) node_reconnect.v.push_back(Seconds(*back - kill.at));
      std::optional<Clock::time_point> first;
      for (const auto& r : d->sends) {
        if (r.acked && r.acked_at > *lost && (!first || r.acked_at < *first)) first = r.acked_at;
      }
      if (first) node_acks.v.push_back(Seconds(*first - kill.at));
    }
  }
  // The primary kill: the first ack of a send issued after it (committed on the new
  // primary, since the old one was dead by then).
  std::optional<double> writes_resume;
  if (pg_killed) {
    for (auto& d : devices) {
      std::lock_guard<std::mutex> lock(d->mu);
      for (const auto& r : d->sends) {
        if (!r.acked || r.issued < *pg_killed) continue;
        const double s = Seconds(r.acked_at - *pg_killed);
        if (!writes_resume || s < *writes_resume) writes_resume = s;
      }
    }
  }
  std::printf("chaos: node kill -> devices reconnected: %s\n", node_reconnect.Str().c_str());
  std::printf("chaos: node kill -> devices' acks resume: %s\n", node_acks.Str().c_str());
  std::printf("chaos: PostgreSQL primary kill -> promoted %.2fs, writes resume %.2fs\n", promote_s,
              writes_resume.value_or(-1));
  std::printf(
      "CHAOS SUMMARY: users=%d devices=%zu convs=%zu chaos=%ds node_kills=%zu pg_failover=1 "
      "redis_stop=5s | sent=%zu acked=%zu refused=%zu unacked_stored=%zu "
      "duplicates_suppressed=%zu reconnects=%llu | node kill->acks resume %s | pg kill->writes "
      "resume %.2fs (promote %.2fs) | search probes %zu/%zu | drain %.1fs total %.1fs\n",
      user_count, devices.size(), convs.size(), chaos_s, node_kills.size(), sent, acked, refused,
      unacked_present, duplicates, static_cast<unsigned long long>(reconnects),
      node_acks.Str().c_str(), writes_resume.value_or(-1), promote_s, probes_found, probes_checked,
      Seconds(Clock::now() - chaos_end), Seconds(Clock::now() - test_start));
  EXPECT_TRUE(writes_resume.has_value()) << "no write was acknowledged after the primary kill";
}

}  // namespace
}  // namespace parley
