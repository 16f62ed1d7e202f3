// parley-bench scenarios. Each prints a readable table, then one final line of JSON.
#pragma once

#include <string>
#include <vector>

namespace parley::bench {

struct StoreScenarioOptions {
  std::string data_dir;  // empty: a fresh temporary directory, removed afterwards
  double seconds = 10;   // per throughput phase
  int senders = 64;      // concurrent 1:1 senders
  int window = 16;       // requests each sender keeps in flight
  int group_members = 50;
  size_t fill = 1000000;          // messages stored before the read phases
  size_t queries = 20000;         // per read phase
  bool buffered = false;          // relax durability (fsync off)
  std::string store = "rocksdb";  // or "postgres" (needs pg_url)
  std::string pg_url;             // libpq URL of the database
  std::string pg_schema;          // empty: a fresh "bench_<random>" schema (left in place)
};

int RunStoreScenario(const StoreScenarioOptions& options);

}  // namespace parley::bench

namespace parley::bench {

// Network scenarios: real WebSockets against a running parleyd (--server), or against one
// the benchmark starts itself with fast password hashing and high rate limits.
struct NetOptions {
  std::string server;  // ws://HOST:PORT; empty: start a private parleyd
  double seconds = 10;
  double rate = 0;         // total messages per second; 0: as fast as acks allow
  int pairs = 100;         // pairs
  int members = 50;        // group
  int window = 4;          // sends in flight per sender when rate is 0
  int connections = 1000;  // idle
  int processes = 0;       // idle: client processes (0: one per 9,000 connections)
  int server_pid = 0;      // idle with --server: the pid to read RSS from
  bool deflate = false;    // idle: also measure connections that negotiate permessage-deflate
  std::string server_config_file;  // TOML added to a private parleyd's config
  // pairs, group, population, reconnect: where the server's /metrics is when not on the
  // ws:// URL's host:port (a separate [admin] listener). Empty: that host:port.
  std::string metrics_url;
  bool perf = true;  // count the server's system calls with perf stat (needs its pid)
  int idle = 0;      // pairs: users connected and logged in, idle, beside the pairs
  // population: the idle populations measured, ascending.
  std::vector<int> idle_sweep = {0, 1000, 10000};
  int repeat = 1;  // population: pairs runs per population (the median is reported)
  // reconnect (reconnect_scenario.cc)
  int devices = 10000;         // users, one device each
  int missed = 3;              // inbox events each device misses while away
  int group_size = 100;        // devices per group (write fan-out: under 1,000)
  int connects_in_flight = 0;  // reconnect handshakes at a time; 0: all at once
  double storm_limit_s = 120;  // the storm's deadline
};

int RunPairsScenario(const NetOptions& options);
int RunGroupScenario(const NetOptions& options);
int RunIdleScenario(const NetOptions& options);
// `population`: pairs throughput beside 0, 1,000 and 10,000 idle logged-in users
// (NetOptions::idle_sweep) on one server (population_scenario.cc).
int RunPopulationScenario(const NetOptions& options);
// `reconnect`: a storm of devices resuming with their token and syncing what they missed
// (reconnect_scenario.cc).
int RunReconnectScenario(const NetOptions& options);

// `search`: the search engine alone (index rate, query latency on a large index), then
// index lag inside a private parleyd under message load.
struct SearchScenarioOptions {
  size_t docs = 1000000;         // messages indexed
  size_t queries = 1000;         // newest-first queries (and a fifth as many by relevance)
  int conversations = 2000;      // the messages are spread over these
  int user_conversations = 200;  // the asking user's scope
  double lag_rate = 5000;        // messages/s through the gateway in the lag phase
  double lag_seconds = 10;       // 0: skip the lag phase
  int lag_pairs = 100;
  // The lag phase against this server (a cluster's HAProxy URL) instead of a private one;
  // its /metrics are then not read, only the end-to-end probe measures.
  std::string server;
  bool lag_only = false;  // skip the index and query phases
};
int RunSearchScenario(const SearchScenarioOptions& options);

// `backup`: backup and restore of a filled store against a plain copy of it, then send
// latency of a live parleyd while it backs itself up (backup_scenario.cc).
struct BackupScenarioOptions {
  size_t messages = 1000000;  // stored before the first backup
  int conversations = 3000;   // five in six direct, the rest groups of 8
  int repeat = 1;             // copy/full/incremental/restore runs; medians reported
  int zstd_level = 3;
  double seconds = 10;       // idle latency phase; 0: skip the live parleyd phase
  double rate = 2000;        // messages/s of the live traffic
  int pairs = 5;             // live traffic pairs
  double backup_window = 6;  // back up again (at most 20 times) until this long
  std::string dir;           // where the working directory goes (default: the temp dir)
  bool keep = false;         // keep the working directory
  std::string live_only;     // a data directory: run only the live phase, on a copy of it
};
int RunBackupScenario(const BackupScenarioOptions& options);

}  // namespace parley::bench

namespace parley::bench {

// `attach`: upload and download throughput of attachments over parleyd's HTTP API, on the
// local store and (with --s3) on radosgw, and the time of a 12-megapixel JPEG's thumbnail
// (attach_scenario.cc).
struct AttachScenarioOptions {
  std::vector<int> sizes_mb = {1, 50};
  int total_mb = 200;  // per size and run: files = max(1, total_mb / size)
  int repeat = 3;      // runs per size and store; medians reported
  bool s3 = false;     // also against radosgw (scripts/radosgw.sh, about 15 s to start)
  int thumbnails = 5;  // 12 MP JPEG thumbnails timed (in process, as the server makes them)
};
int RunAttachScenario(const AttachScenarioOptions& options);

}  // namespace parley::bench
