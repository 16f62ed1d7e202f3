// parley-bench: Parley's load generator. `parley-bench store` drives the message core
// through its service API; `pairs`, `group` and `idle` drive a real parleyd over
// WebSockets; `search` measures the search index, then its lag inside parleyd; `backup`
// measures backup and restore, then send latency while a live parleyd backs up.
#include <CLI/CLI.hpp>

#include "scenarios.h"

int main(int argc, char** argv) {
  CLI::App app{"parley-bench — measure Parley"};
  app.require_subcommand(1);

  parley::bench::StoreScenarioOptions store;
  CLI::App* s = app.add_subcommand("store", "message core through the service API (no network)");
  s->add_option("--data", store.data_dir, "data directory (default: fresh temporary one)");
  s->add_option("--seconds", store.seconds, "length of each throughput phase")
      ->check(CLI::Range(0.1, 3600.0));
  s->add_option("--senders", store.senders, "concurrent 1:1 senders")->check(CLI::Range(1, 4096));
  s->add_option("--window", store.window, "requests in flight per sender")
      ->check(CLI::Range(1, 1024));
  s->add_option("--members", store.group_members, "group size for the fan-out phase")
      ->check(CLI::Range(2, 10000));
  s->add_option("--fill", store.fill, "messages stored before the read phases");
  s->add_option("--queries", store.queries, "queries per read phase")
      ->check(CLI::Range(1, 10000000));
  s->add_flag("--buffered", store.buffered, "do not fsync before acknowledging");

  parley::bench::NetOptions net;
  auto common = [&net](CLI::App* sub) {
    sub->add_option("--server", net.server,
                    "ws://HOST:PORT of a running parleyd (default: start one)");
    sub->add_option("--seconds", net.seconds, "measured duration")->check(CLI::Range(0.1, 3600.0));
  };
  CLI::App* pairs =
      app.add_subcommand("pairs", "pairs of users exchanging messages over WebSockets");
  common(pairs);
  pairs->add_option("--pairs", net.pairs, "pairs of clients")->check(CLI::Range(1, 5000));
  pairs->add_option("--rate", net.rate,
                    "total messages per second (default: as fast as acks allow)");
  pairs->add_option("--window", net.window, "sends in flight per client without --rate")
      ->check(CLI::Range(1, 1024));
  CLI::App* group = app.add_subcommand("group", "one group, fan-out to every member");
  common(group);
  group->add_option("--members", net.members, "group size")->check(CLI::Range(2, 5000));
  group->add_option("--rate", net.rate, "messages per second (default: as fast as acks allow)");
  group->add_option("--window", net.window, "sends in flight without --rate")
      ->check(CLI::Range(1, 1024));
  CLI::App* idle = app.add_subcommand("idle", "many authenticated idle connections");
  common(idle);
  idle->add_option("--connections", net.connections, "connections")->check(CLI::Range(1, 1000000));
  idle->add_option("--processes", net.processes, "client processes (default: one per 9,000)");
  idle->add_option("--pid", net.server_pid, "pid of the --server process (to read its RSS)");
  idle->add_flag("--deflate", net.deflate,
                 "clients offer permessage-deflate as browsers do; with a private parleyd, "
                 "report the cost per connection without and with it (a fresh server each)");
  idle->add_option("--server-config", net.server_config_file,
                   "a TOML file added to the private parleyd's config (e.g. a [session] table; "
                   "not [accounts] or [limits], which the bench sets)");

  parley::bench::SearchScenarioOptions search;
  CLI::App* srch = app.add_subcommand(
      "search", "search index rate and query latency, then index lag inside parleyd");
  srch->add_option("--docs", search.docs, "messages indexed")->check(CLI::Range(1000, 100000000));
  srch->add_option("--queries", search.queries, "newest-first queries")
      ->check(CLI::Range(10, 10000000));
  srch->add_option("--conversations", search.conversations, "conversations the messages use")
      ->check(CLI::Range(1, 10000000));
  srch->add_option("--scope", search.user_conversations, "the asking user's conversations")
      ->check(CLI::Range(1, 100000));
  srch->add_option("--lag-rate", search.lag_rate, "messages/s through parleyd in the lag phase");
  srch->add_option("--lag-seconds", search.lag_seconds, "length of the lag phase (0: skip)")
      ->check(CLI::Range(0.0, 3600.0));

  parley::bench::BackupScenarioOptions backup;
  CLI::App* bk = app.add_subcommand(
      "backup", "backup/copy/restore throughput, then send latency during a live backup");
  bk->add_option("--messages", backup.messages, "messages stored before the first backup")
      ->check(CLI::Range(1000, 1000000000));
  bk->add_option("--conversations", backup.conversations, "conversations (1 in 6 a group)")
      ->check(CLI::Range(12, 1000000));
  bk->add_option("--repeat", backup.repeat, "runs of the throughput phases (medians)")
      ->check(CLI::Range(1, 100));
  bk->add_option("--zstd-level", backup.zstd_level, "compression level")->check(CLI::Range(1, 19));
  bk->add_option("--seconds", backup.seconds, "idle latency phase (0: skip the live phase)")
      ->check(CLI::Range(0.0, 3600.0));
  bk->add_option("--rate", backup.rate, "live traffic, messages per second")
      ->check(CLI::Range(1.0, 1000000.0));
  bk->add_option("--pairs", backup.pairs, "live traffic pairs")->check(CLI::Range(1, 5000));
  bk->add_option("--backup-window", backup.backup_window,
                 "measure during backups for at least this long (repeating them)")
      ->check(CLI::Range(0.0, 3600.0));
  bk->add_option("--dir", backup.dir, "where to put the working directory (default: temp)");
  bk->add_flag("--keep", backup.keep, "keep the working directory");
  bk->add_option("--live-only", backup.live_only,
                 "only the live phase, on a copy of this (stopped) data directory");

  CLI11_PARSE(app, argc, argv);
  if (s->parsed()) return parley::bench::RunStoreScenario(store);
  if (pairs->parsed()) return parley::bench::RunPairsScenario(net);
  if (group->parsed()) return parley::bench::RunGroupScenario(net);
  if (idle->parsed()) return parley::bench::RunIdleScenario(net);
  if (srch->parsed()) return parley::bench::RunSearchScenario(search);
  if (bk->parsed()) return parley::bench::RunBackupScenario(backup);
  return 2;
}
