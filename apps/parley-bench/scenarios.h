// parley-bench scenarios. Each prints a readable table, then one final line of JSON.
#pragma once

#include <string>

namespace parley::bench {

struct StoreScenarioOptions {
  std::string data_dir;  // empty: a fresh temporary directory, removed afterwards
  double seconds = 10;   // per throughput phase
  int senders = 64;      // concurrent 1:1 senders
  int window = 16;       // requests each sender keeps in flight
  int group_members = 50;
  size_t fill = 1000000;   // messages stored before the read phases
  size_t queries = 20000;  // per read phase
  bool buffered = false;   // relax durability (fsync off)
};

int RunStoreScenario(const StoreScenarioOptions& options);

}  // namespace parley::bench
