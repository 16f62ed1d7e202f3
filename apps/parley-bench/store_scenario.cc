// `parley-bench store`: the message core measured through its service API, fsync on.
//
// Phases: 1:1 sends from many concurrent senders; 50-member group sends (write fan-out);
// a fill to >= N stored messages; then history pages and sync pulls on the full store.
// Correctness counters (lost, duplicated, reordered) are checked against the store and
// must read zero.
#include <fmt/format.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/clock.h"
#include "common/crypto.h"
#include "latency.h"
#include "pg/pg_store.h"
#include "scenarios.h"
#include "service/core.h"
#include "store/rocks_store.h"
#include "tests/support/temp_dir.h"

namespace parley::bench {
namespace {

struct Target {
  Identity who;
  ConvId conv = 0;
};

struct PhaseResult {
  uint64_t acks = 0;
  uint64_t errors = 0;
  uint64_t duplicates = 0;
  double seconds = 0;
  Latencies latency;
  std::unordered_map<ConvId, uint64_t> acks_per_conv;
  uint64_t reordered = 0;  // a sender's acks in one conversation went backwards
};

// One sender: cycles through its targets keeping `window` sends in flight.
struct Sender {
  std::mutex mu;
  std::condition_variable cv;
  int inflight = 0;
  PhaseResult result;
  std::unordered_map<ConvId, Seq> last_seq;
};

constexpr std::string_view kBody =
    "Status update: the nightly sync finished, 今天的消息同步正常, let's review the backup "
    "plan tomorrow.";

PhaseResult RunSends(Core& core, const std::vector<std::vector<Target>>& per_sender, int window,
                     double seconds, uint64_t max_total, const std::string& tag) {
  std::vector<std::unique_ptr<Sender>> senders;
  for (size_t i = 0; i < per_sender.size(); ++i) senders.push_back(std::make_unique<Sender>());
  std::atomic<uint64_t> issued{0};
  int64_t start = MonotonicNanos();
  int64_t deadline = start + static_cast<int64_t>(seconds * 1e9);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < per_sender.size(); ++i) {
    threads.emplace_back([&, i] {
      Sender& s = *senders[i];
      const auto& targets = per_sender[i];
      for (uint64_t n = 0;; ++n) {
        if (MonotonicNanos() >= deadline || issued.fetch_add(1) >= max_total) break;
        {
          std::unique_lock<std::mutex> lock(s.mu);
          s.cv.wait(lock, [&] { return s.inflight < window; });
          ++s.inflight;
        }
        const Target& t = targets[n % targets.size()];
        SendRequest req;
        req.conv_id = t.conv;
        req.client_msg_id = fmt::format("{}-{}-{}", tag, i, n);  // tag is unique per run
        req.body = kBody;
        int64_t t0 = MonotonicNanos();
        core.messages().Send(t.who, std::move(req), [&s, t0](Result<SendAck> r) {
          std::lock_guard<std::mutex> lock(s.mu);
          --s.inflight;
          if (r.ok()) {
            s.result.acks++;
            s.result.duplicates += r->duplicate ? 1 : 0;
            s.result.acks_per_conv[r->conv_id]++;
            Seq& last = s.last_seq[r->conv_id];
            if (r->seq <= last) s.result.reordered++;
            last = r->seq;
            s.result.latency.Add(MonotonicNanos() - t0);
          } else {
            s.result.errors++;
          }
          s.cv.notify_one();
        });
      }
      std::unique_lock<std::mutex> lock(s.mu);
      s.cv.wait(lock, [&] { return s.inflight == 0; });
    });
  }
  for (auto& t : threads) t.join();
  PhaseResult total;
  total.seconds = static_cast<double>(MonotonicNanos() - start) / 1e9;
  for (auto& s : senders) {
    total.acks += s->result.acks;
    total.errors += s->result.errors;
    total.duplicates += s->result.duplicates;
    total.reordered += s->result.reordered;
    total.latency.Merge(s->result.latency);
    for (auto& [c, n] : s->result.acks_per_conv) total.acks_per_conv[c] += n;
  }
  return total;
}

// Messages acknowledged but missing from the store: each conversation's head must equal
// what was there before plus what was acknowledged (conv_seq is gapless).
uint64_t CountLost(Core& core, const PhaseResult& r,
                   const std::unordered_map<ConvId, Seq>& heads_before) {
  uint64_t lost = 0;
  for (const auto& [conv, n] : r.acks_per_conv) {
    auto head = core.store().GetConvHead(conv);
    Seq before = heads_before.count(conv) ? heads_before.at(conv) : 0;
    Seq have = head.ok() ? head->last_seq - before : 0;
    if (have < n) lost += n - have;
  }
  return lost;
}

std::unordered_map<ConvId, Seq> Heads(Core& core, const std::vector<ConvId>& convs) {
  std::unordered_map<ConvId, Seq> out;
  for (ConvId c : convs) {
    auto h = core.store().GetConvHead(c);
    out[c] = h.ok() ? h->last_seq : 0;
  }
  return out;
}

void Die(const Status& st, const char* what) {
  fmt::print(stderr, "parley-bench: {}: {}\n", what, st.ToString());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}

Identity Ident(UserId u) { return Identity{u, "bench-device"}; }

// Users are provisioned with one precomputed Argon2id hash: hashing is not measured here.
UserId MakeUser(Core& core, const std::string& hash, const std::string& name) {
  auto existing = core.accounts().FindUser(name);
  if (existing.ok()) return existing->id;
  return Must(core.accounts().RegisterWithHash(name, hash), "register").id;
}

// Phase 1: 1:1 sends, one direct conversation per sender (users 2i and 2i+1). Adds the
// messages it lost to *lost.
PhaseResult SendDirect(Core& core, const std::vector<UserId>& users, int pairs,
                       const StoreScenarioOptions& o, const std::string& run, uint64_t* lost) {
  std::vector<std::vector<Target>> direct(pairs);
  std::vector<ConvId> direct_convs;
  for (int i = 0; i < pairs; ++i) {
    auto conv = Must(core.conversations().OpenDirect(users[2 * i], users[2 * i + 1]), "open");
    direct[i].push_back(Target{Ident(users[2 * i]), conv.id});
    direct_convs.push_back(conv.id);
  }
  auto heads0 = Heads(core, direct_convs);
  PhaseResult p1 = RunSends(core, direct, o.window, o.seconds, UINT64_MAX, "d" + run);
  *lost += CountLost(core, p1, heads0);
  return p1;
}

struct GroupPhase {
  PhaseResult result;
  size_t members = 0;
};

// Phase 2: a group with write fan-out; every member sends. Adds the messages it lost (in
// the conversation or in a member's inbox) to *lost.
GroupPhase SendGroup(Core& core, const std::string& hash, int pairs, const StoreScenarioOptions& o,
                     const std::string& run, uint64_t* lost) {
  std::vector<UserId> members;
  for (int i = 0; i < o.group_members; ++i) {
    members.push_back(MakeUser(core, hash, fmt::format("gm{}", i)));
  }
  auto group =
      Must(core.conversations().CreateGroup(
               members[0], "bench group", std::vector<UserId>(members.begin() + 1, members.end())),
           "create group");
  std::vector<std::vector<Target>> group_senders(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    group_senders[i].push_back(Target{Ident(members[i]), group.id});
  }
  auto heads1 = Heads(core, {group.id});
  Seq inbox_before = Must(core.store().LastUserSeq(members.back()), "inbox");
  int group_window = std::max(1, o.window * pairs / static_cast<int>(members.size()));
  PhaseResult p2 = RunSends(core, group_senders, group_window, o.seconds, UINT64_MAX, "g" + run);
  *lost += CountLost(core, p2, heads1);
  // Every member's inbox must have grown by exactly the number of group messages.
  Seq inbox_after = Must(core.store().LastUserSeq(members.back()), "inbox");
  if (inbox_after - inbox_before != p2.acks) *lost += p2.acks - (inbox_after - inbox_before);
  return GroupPhase{std::move(p2), members.size()};
}

struct Fill {
  std::vector<std::vector<Target>> senders;  // per sender, its conversations
  std::vector<ConvId> convs;
  uint64_t stored = 0;  // messages in the store afterwards
  double seconds = 0;
};

// Phase 3: fill the store to o.fill messages across up to 1,000 direct conversations.
// Adds the failed sends to *lost.
Fill FillStore(Core& core, const std::vector<UserId>& users, int pairs,
               const StoreScenarioOptions& o, const std::string& run, uint64_t* lost) {
  Fill fill;
  fill.senders.resize(pairs);
  for (int i = 0; i < 2 * pairs && fill.convs.size() < 1000; ++i) {
    for (int j = i + 1; j < 2 * pairs && fill.convs.size() < 1000; ++j) {
      auto conv = Must(core.conversations().OpenDirect(users[i], users[j]), "open");
      fill.senders[fill.convs.size() % pairs].push_back(Target{Ident(users[i]), conv.id});
      fill.convs.push_back(conv.id);
    }
  }
  fill.stored = Must(core.store().LoadCounters(), "counters").last_gseq;
  int64_t fill_start = MonotonicNanos();
  if (fill.stored < o.fill) {
    PhaseResult p3 = RunSends(core, fill.senders, o.window, 3600, o.fill - fill.stored, "f" + run);
    *lost += p3.errors;
    fill.stored += p3.acks;
  }
  fill.seconds = static_cast<double>(MonotonicNanos() - fill_start) / 1e9;
  return fill;
}

struct ReadPhase {
  Latencies latency;
  uint64_t short_replies = 0;  // failed, or fewer items than there are
};

// Phase 4: history pages of 50 before a random point of a random conversation.
ReadPhase ReadHistory(Core& core, const Fill& fill, size_t queries, std::mt19937_64& rng) {
  ReadPhase history;
  for (size_t q = 0; q < queries; ++q) {
    ConvId conv = fill.convs[rng() % fill.convs.size()];
    ConvId sender_user = 0;
    for (const auto& list : fill.senders) {
      for (const auto& t : list) {
        if (t.conv == conv) sender_user = t.who.user_id;
      }
      if (sender_user) break;
    }
    Seq head = Must(core.store().GetConvHead(conv), "head").last_seq;
    HistoryRequest req;
    req.conv_id = conv;
    req.mode = HistoryRequest::Mode::kBefore;
    req.seq = head > 51 ? 51 + rng() % (head - 50) : head + 1;
    req.limit = 50;
    int64_t t0 = MonotonicNanos();
    auto page = core.timeline().History(Ident(sender_user), req);
    history.latency.Add(MonotonicNanos() - t0);
    if (!page.ok() || (head > 51 && page->messages.size() != 50)) history.short_replies++;
  }
  return history;
}

// Phase 5: sync pulls of 100 events from a random point of a user's inbox.
ReadPhase PullSync(Core& core, const std::vector<UserId>& users, size_t queries,
                   std::mt19937_64& rng) {
  ReadPhase sync;
  for (size_t q = 0; q < queries; ++q) {
    UserId u = users[rng() % users.size()];
    Seq last = Must(core.store().LastUserSeq(u), "last");
    SyncRequest req;
    req.since = last > 100 ? rng() % (last - 100) : 0;
    req.limit = 100;
    int64_t t0 = MonotonicNanos();
    auto reply = core.timeline().Sync(Ident(u), req);
    sync.latency.Add(MonotonicNanos() - t0);
    if (!reply.ok() || (last > 100 && reply->items.size() != 100)) sync.short_replies++;
  }
  return sync;
}

// What the phases measured, as printed.
struct StoreFigures {
  // Not const: Latencies sorts its samples when asked for a percentile.
  PhaseResult* direct = nullptr;
  GroupPhase* group = nullptr;
  const Fill* fill = nullptr;
  ReadPhase* history = nullptr;
  ReadPhase* sync = nullptr;
  SequencerStats sequencer;
  uint64_t lost = 0, duplicated = 0, reordered = 0, errors = 0;
};

// The table, then one line of JSON.
void PrintStoreFigures(const StoreScenarioOptions& o, int pairs, const StoreFigures& f) {
  PhaseResult& p1 = *f.direct;
  PhaseResult& p2 = f.group->result;
  const SequencerStats& seq_stats = f.sequencer;
  double avg_batch =
      seq_stats.batches ? static_cast<double>(seq_stats.tasks) / seq_stats.batches : 0;
  double direct_rate = p1.acks / p1.seconds;
  double group_rate = p2.acks / p2.seconds;
  const size_t members = f.group->members;
  Latencies& history = f.history->latency;
  Latencies& sync = f.sync->latency;

  fmt::print(
      "parley-bench store — engine={}, durability={}, {} senders x window {}, {:.1f} s phases\n",
      o.store, o.buffered ? "buffered" : "sync(fsync)", pairs, o.window, o.seconds);
  fmt::print("{:<34}{:>14}{:>12}{:>12}\n", "phase", "rate", "p50 ms", "p99 ms");
  fmt::print("{:<34}{:>12.0f}/s{:>12.3f}{:>12.3f}\n", "1:1 send (msgs committed)", direct_rate,
             p1.latency.PercentileMs(50), p1.latency.PercentileMs(99));
  fmt::print("{:<34}{:>12.0f}/s{:>12.3f}{:>12.3f}\n",
             fmt::format("group of {} send (msgs)", members), group_rate,
             p2.latency.PercentileMs(50), p2.latency.PercentileMs(99));
  fmt::print("{:<34}{:>12.0f}/s\n", "  group inbox events", group_rate * members);
  fmt::print("{:<34}{:>14}{:>12.3f}{:>12.3f}\n", "history page of 50", "", history.PercentileMs(50),
             history.PercentileMs(99));
  fmt::print("{:<34}{:>14}{:>12.3f}{:>12.3f}\n", "sync pull of 100", "", sync.PercentileMs(50),
             sync.PercentileMs(99));
  fmt::print("messages stored {} (fill {:.1f} s), commits {}, avg batch {:.1f}, largest {}\n",
             f.fill->stored, f.fill->seconds, seq_stats.batches, avg_batch,
             seq_stats.largest_batch);
  fmt::print("lost {}  duplicated {}  reordered {}  errors {}\n", f.lost, f.duplicated, f.reordered,
             f.errors);
  fmt::print(
      "{{\"scenario\":\"store\",\"engine\":\"{}\",\"durability\":\"{}\",\"direct_msgs_per_s\":{:."
      "0f},"
      "\"group50_msgs_per_s\":{:.0f},\"group_members\":{},\"group_inbox_events_per_s\":{:.0f},"
      "\"send_p50_ms\":{:.3f},\"send_p99_ms\":{:.3f},\"history_p50_ms\":{:.3f},"
      "\"history_p99_ms\":{:.3f},\"sync_p50_ms\":{:.3f},\"sync_p99_ms\":{:.3f},"
      "\"messages_stored\":{},\"avg_batch\":{:.1f},\"lost\":{},\"duplicated\":{},"
      "\"reordered\":{},\"errors\":{}}}\n",
      o.store, o.buffered ? "buffered" : "sync", direct_rate, group_rate, members,
      group_rate * members, p1.latency.PercentileMs(50), p1.latency.PercentileMs(99),
      history.PercentileMs(50), history.PercentileMs(99), sync.PercentileMs(50),
      sync.PercentileMs(99), f.fill->stored, avg_batch, f.lost, f.duplicated, f.reordered,
      f.errors);
}

}  // namespace

int RunStoreScenario(const StoreScenarioOptions& o) {
  std::string dir = o.data_dir;
  std::optional<test::TempDir> temp;  // removed at the end, after the core has closed
  if (dir.empty()) {
    auto made = test::TempDir::Create("parley-bench-");
    if (!made.ok()) {
      fmt::print(stderr, "parley-bench: {}\n", made.status().ToString());
      return 1;
    }
    temp.emplace(std::move(made).value());
    dir = temp->path();
  }
  ServiceConfig config;
  config.durability = o.buffered ? Durability::kBuffered : Durability::kSync;
  std::unique_ptr<Store> store;
  std::string schema;
  if (o.store == "postgres") {
    if (o.pg_url.empty()) {
      fmt::print(stderr, "parley-bench: --store postgres needs --pg-url\n");
      return 1;
    }
    PgStoreOptions pg;
    pg.url = o.pg_url;
    schema = o.pg_schema.empty() ? "bench_" + RandomHex(4) : o.pg_schema;
    pg.schema = schema;
    pg.readers = 16;
    pg.application_name = "parley-bench";
    store = Must(OpenPgStore(pg), "open postgres store");
  } else {
    store = Must(OpenRocksStore(dir), "open store");
  }
  auto core = Must(Core::Open(std::move(store), config), "open core");

  std::string hash = Must(HashPassword("bench-password"), "hash");
  const int pairs = o.senders;
  std::vector<UserId> users;
  for (int i = 0; i < 2 * pairs; ++i)
    users.push_back(MakeUser(*core, hash, fmt::format("bench{}", i)));

  // client_msg_ids must be new on every run, or a rerun on the same store is (correctly)
  // answered with the first run's acknowledgements.
  const std::string run = RandomHex(4);
  uint64_t lost = 0;
  PhaseResult p1 = SendDirect(*core, users, pairs, o, run, &lost);
  GroupPhase p2 = SendGroup(*core, hash, pairs, o, run, &lost);
  Fill fill = FillStore(*core, users, pairs, o, run, &lost);
  std::mt19937_64 rng(42);
  ReadPhase history = ReadHistory(*core, fill, o.queries, rng);
  ReadPhase sync = PullSync(*core, users, o.queries, rng);

  StoreFigures figures{&p1, &p2, &fill, &history, &sync, core->sequencer().stats()};
  figures.lost = lost;
  figures.duplicated = p1.duplicates + p2.result.duplicates;
  figures.reordered = p1.reordered + p2.result.reordered;
  figures.errors = p1.errors + p2.result.errors + history.short_replies + sync.short_replies;
  PrintStoreFigures(o, pairs, figures);

  core.reset();
  return (figures.lost || figures.duplicated || figures.reordered || figures.errors) ? 1 : 0;
}

}  // namespace parley::bench
