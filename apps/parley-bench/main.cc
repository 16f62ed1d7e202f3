// parley-bench: Parley's load generator. `parley-bench store` drives the message core
// through its service API; `pairs`, `group` and `idle` drive a real parleyd over
// WebSockets (pairs and group also print the server's per-stage latency and its frames,
// CPU and system calls per message); `population` measures pairs beside 0 to 10,000 idle
// users; `reconnect` measures a storm of devices resuming and catching up; `search`
// measures the search index, then its lag inside parleyd; `backup` measures backup and
// restore, then send latency while a live parleyd backs up; `attach` measures attachment
// uploads, downloads and thumbnails.
#include <CLI/CLI.hpp>

#include "crowd.h"
#include "scenarios.h"

namespace {

using namespace parley::bench;

CLI::App* AddStoreCommand(CLI::App& app, StoreScenarioOptions& o) {
  CLI::App* s = app.add_subcommand("store", "message core through the service API (no network)");
  s->add_option("--data", o.data_dir, "data directory (default: fresh temporary one)");
  s->add_option("--seconds", o.seconds, "length of each throughput phase")
      ->check(CLI::Range(0.1, 3600.0));
  s->add_option("--senders", o.senders, "concurrent 1:1 senders")->check(CLI::Range(1, 4096));
  s->add_option("--window", o.window, "requests in flight per sender")->check(CLI::Range(1, 1024));
  s->add_option("--members", o.group_members, "group size for the fan-out phase")
      ->check(CLI::Range(2, 10000));
  s->add_option("--fill", o.fill, "messages stored before the read phases");
  s->add_option("--queries", o.queries, "queries per read phase")->check(CLI::Range(1, 10000000));
  s->add_flag("--buffered", o.buffered, "do not fsync before acknowledging");
  s->add_option("--store", o.store, "engine: rocksdb (embedded) or postgres (--pg-url)")
      ->check(CLI::IsMember({"rocksdb", "postgres"}));
  s->add_option("--pg-url", o.pg_url,
                "PostgreSQL URL for --store postgres (scripts/bench-pg.sh starts a primary "
                "with a sync standby and passes it)");
  s->add_option("--pg-schema", o.pg_schema, "schema to use (default: a fresh bench_<random> one)");
  return s;
}

// pairs, group, idle, population and reconnect share NetOptions (--server, ...).
struct NetCommands {
  CLI::App* pairs;
  CLI::App* group;
  CLI::App* idle;
  CLI::App* population;
  CLI::App* reconnect;
};

// How the server's costs are read (server_probe.h).
void AddProbeOptions(CLI::App* sub, NetOptions& o) {
  sub->add_option("--metrics-url", o.metrics_url,
                  "http://HOST:PORT[/metrics] of the server's /metrics when it is not on the "
                  "--server host:port (a separate [admin] listen)");
  sub->add_option("--server-pid", o.server_pid,
                  "pid of the --server process: its CPU time and system calls per message");
  sub->add_flag("!--no-perf", o.perf, "do not count the server's system calls with perf stat");
}

void AddPairsOptions(CLI::App* sub, NetOptions& o) {
  sub->add_option("--pairs", o.pairs, "pairs of clients")->check(CLI::Range(1, 5000));
  sub->add_option("--rate", o.rate, "total messages per second (default: as fast as acks allow)");
  sub->add_option("--window", o.window, "sends in flight per client without --rate")
      ->check(CLI::Range(1, 1024));
}

NetCommands AddNetCommands(CLI::App& app, NetOptions& o) {
  auto server = [&o](CLI::App* sub) {
    sub->add_option("--server", o.server,
                    "ws://HOST:PORT of a running parleyd (default: start one)");
  };
  auto common = [&o, &server](CLI::App* sub) {
    server(sub);
    sub->add_option("--seconds", o.seconds, "measured duration")->check(CLI::Range(0.1, 3600.0));
  };
  CLI::App* pairs =
      app.add_subcommand("pairs", "pairs of users exchanging messages over WebSockets");
  common(pairs);
  AddPairsOptions(pairs, o);
  AddProbeOptions(pairs, o);
  pairs
      ->add_option("--idle", o.idle,
                   "first connect and log in this many more users, idle during the run")
      ->check(CLI::Range(0, 19000));
  CLI::App* group = app.add_subcommand("group", "one group, fan-out to every member");
  common(group);
  AddProbeOptions(group, o);
  group->add_option("--members", o.members, "group size")->check(CLI::Range(2, 5000));
  group->add_option("--rate", o.rate, "messages per second (default: as fast as acks allow)");
  group->add_option("--window", o.window, "sends in flight without --rate")
      ->check(CLI::Range(1, 1024));
  CLI::App* idle = app.add_subcommand("idle", "many authenticated idle connections");
  common(idle);
  idle->add_option("--connections", o.connections, "connections")->check(CLI::Range(1, 1000000));
  idle->add_option("--processes", o.processes, "client processes (default: one per 9,000)");
  idle->add_option("--pid", o.server_pid, "pid of the --server process (to read its RSS)");
  idle->add_flag("--deflate", o.deflate,
                 "clients offer permessage-deflate as browsers do; with a private parleyd, "
                 "report the cost per connection without and with it (a fresh server each)");
  idle->add_option("--server-config", o.server_config_file,
                   "a TOML file added to the private parleyd's config (e.g. a [session] table; "
                   "not [accounts] or [limits], which the bench sets)");
  CLI::App* population = app.add_subcommand(
      "population", "pairs throughput beside 0, 1,000 and 10,000 idle logged-in users");
  common(population);
  AddPairsOptions(population, o);
  AddProbeOptions(population, o);
  population->add_option("--idle-sweep", o.idle_sweep, "idle populations, e.g. 0,1000,10000")
      ->delimiter(',')
      ->check(CLI::Range(0, 19000));
  population->add_option("--repeat", o.repeat, "pairs runs per population (median reported)")
      ->check(CLI::Range(1, 20));
  CLI::App* reconnect = app.add_subcommand(
      "reconnect", "devices that missed a few events reconnect at once (token auth + sync)");
  server(reconnect);
  AddProbeOptions(reconnect, o);
  reconnect->add_option("--devices", o.devices, "devices (one user each)")
      ->check(CLI::Range(1, 19000));
  reconnect->add_option("--missed", o.missed, "inbox events each device misses")
      ->check(CLI::Range(1, 1000));
  reconnect
      ->add_option("--group-size", o.group_size,
                   "devices per group; the missed events are messages to these groups "
                   "(under the server's read_fanout_threshold, 1,000 by default)")
      ->check(CLI::Range(1, 999));
  reconnect
      ->add_option("--connects-in-flight", o.connects_in_flight,
                   "reconnects started at a time (0: all at once)")
      ->check(CLI::Range(0, 19000));
  reconnect->add_option("--limit", o.storm_limit_s, "deadline of the storm, seconds")
      ->check(CLI::Range(1.0, 3600.0));
  return {pairs, group, idle, population, reconnect};
}

CLI::App* AddSearchCommand(CLI::App& app, SearchScenarioOptions& o) {
  CLI::App* srch = app.add_subcommand(
      "search", "search index rate and query latency, then index lag inside parleyd");
  srch->add_option("--docs", o.docs, "messages indexed")->check(CLI::Range(1000, 100000000));
  srch->add_option("--queries", o.queries, "newest-first queries")->check(CLI::Range(10, 10000000));
  srch->add_option("--conversations", o.conversations, "conversations the messages use")
      ->check(CLI::Range(1, 10000000));
  srch->add_option("--scope", o.user_conversations, "the asking user's conversations")
      ->check(CLI::Range(1, 100000));
  srch->add_option("--lag-rate", o.lag_rate, "messages/s through parleyd in the lag phase");
  srch->add_option("--lag-seconds", o.lag_seconds, "length of the lag phase (0: skip)")
      ->check(CLI::Range(0.0, 3600.0));
  srch->add_option("--lag-pairs", o.lag_pairs, "pairs sending in the lag phase")
      ->check(CLI::Range(1, 10000));
  srch->add_option("--server", o.server,
                   "run the lag phase against this ws:// URL (e.g. a cluster's HAProxy)");
  srch->add_flag("--lag-only", o.lag_only, "only the lag phase (no index or query phase)");
  return srch;
}

CLI::App* AddAttachCommand(CLI::App& app, AttachScenarioOptions& o) {
  CLI::App* a = app.add_subcommand(
      "attach", "attachment upload/download throughput (local store, radosgw) and thumbnails");
  a->add_option("--sizes-mb", o.sizes_mb, "file sizes in MiB")->delimiter(',');
  a->add_option("--total-mb", o.total_mb, "MiB uploaded per size and run")
      ->check(CLI::Range(1, 100000));
  a->add_option("--repeat", o.repeat, "runs per size and store (medians)")
      ->check(CLI::Range(1, 100));
  a->add_flag("--s3", o.s3, "also against radosgw (started by scripts/radosgw.sh)");
  a->add_option("--thumbnails", o.thumbnails, "12 MP JPEG thumbnails timed (0: none)")
      ->check(CLI::Range(0, 1000));
  return a;
}

CLI::App* AddBackupCommand(CLI::App& app, BackupScenarioOptions& o) {
  CLI::App* bk = app.add_subcommand(
      "backup", "backup/copy/restore throughput, then send latency during a live backup");
  bk->add_option("--messages", o.messages, "messages stored before the first backup")
      ->check(CLI::Range(1000, 1000000000));
  bk->add_option("--conversations", o.conversations, "conversations (1 in 6 a group)")
      ->check(CLI::Range(12, 1000000));
  bk->add_option("--repeat", o.repeat, "runs of the throughput phases (medians)")
      ->check(CLI::Range(1, 100));
  bk->add_option("--zstd-level", o.zstd_level, "compression level")->check(CLI::Range(1, 19));
  bk->add_option("--seconds", o.seconds, "idle latency phase (0: skip the live phase)")
      ->check(CLI::Range(0.0, 3600.0));
  bk->add_option("--rate", o.rate, "live traffic, messages per second")
      ->check(CLI::Range(1.0, 1000000.0));
  bk->add_option("--pairs", o.pairs, "live traffic pairs")->check(CLI::Range(1, 5000));
  bk->add_option("--backup-window", o.backup_window,
                 "measure during backups for at least this long (repeating them)")
      ->check(CLI::Range(0.0, 3600.0));
  bk->add_option("--dir", o.dir, "where to put the working directory (default: temp)");
  bk->add_flag("--keep", o.keep, "keep the working directory");
  bk->add_option("--live-only", o.live_only,
                 "only the live phase, on a copy of this (stopped) data directory");
  return bk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-bench — measure Parley"};
  app.require_subcommand(1);
  StoreScenarioOptions store;
  NetOptions net;
  SearchScenarioOptions search;
  BackupScenarioOptions backup;
  AttachScenarioOptions attach;
  CLI::App* s = AddStoreCommand(app, store);
  const NetCommands n = AddNetCommands(app, net);
  CLI::App* srch = AddSearchCommand(app, search);
  CLI::App* bk = AddBackupCommand(app, backup);
  CLI::App* att = AddAttachCommand(app, attach);

  CLI11_PARSE(app, argc, argv);
  // Thousands of connections in one process (and a private parleyd inherits the limit).
  RaiseOpenFileLimit();
  if (s->parsed()) return RunStoreScenario(store);
  if (n.pairs->parsed()) return RunPairsScenario(net);
  if (n.group->parsed()) return RunGroupScenario(net);
  if (n.idle->parsed()) return RunIdleScenario(net);
  if (n.population->parsed()) return RunPopulationScenario(net);
  if (n.reconnect->parsed()) return RunReconnectScenario(net);
  if (srch->parsed()) return RunSearchScenario(search);
  if (bk->parsed()) return RunBackupScenario(backup);
  if (att->parsed()) return RunAttachScenario(attach);
  return 2;
}
