// parley-bench: Parley's load generator. `parley-bench store` drives the message core
// through its service API; the network scenarios arrive with the gateway.
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

  CLI11_PARSE(app, argc, argv);
  if (s->parsed()) return parley::bench::RunStoreScenario(store);
  return 2;
}
