// parleyd: the Parley server. For now it opens the embedded store, reports its status and
// serves until SIGINT/SIGTERM; the WebSocket gateway plugs in here next.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <filesystem>

#include "server/config_file.h"
#include "service/core.h"
#include "store/rocks_store.h"

int main(int argc, char** argv) {
  CLI::App app{"parleyd — the Parley instant-messaging server"};
  std::string config_path, data_dir;
  bool status_only = false;
  app.add_option("--config", config_path, "TOML config file (see docs/operations.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--data", data_dir, "data directory (default ./data)");
  app.add_flag("--status", status_only, "print the store's status and exit");
  CLI11_PARSE(app, argc, argv);

  parley::ServerConfig config;
  if (!config_path.empty()) {
    if (auto st = parley::LoadConfigFile(config_path, &config); !st.ok()) {
      spdlog::critical("{}", st.ToString());
      return 2;
    }
  }
  if (!data_dir.empty()) config.data_dir = data_dir;

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  auto store = parley::OpenRocksStore(config.data_dir, config.store);
  if (!store.ok()) {
    spdlog::critical("{}", store.status().ToString());
    return 1;
  }
  auto core = parley::Core::Open(std::move(store).value(), config.service);
  if (!core.ok()) {
    spdlog::critical("{}", core.status().ToString());
    return 1;
  }
  auto counters = (*core)->store().LoadCounters();
  auto stats = (*core)->store().Stats();
  spdlog::info("parleyd {} store={} durability={}", PARLEY_VERSION, config.data_dir,
               config.service.durability == parley::Durability::kSync ? "sync" : "buffered");
  if (counters.ok()) {
    spdlog::info("status: users={} conversations={} changes={} messages~{} disk_bytes={}",
                 counters->last_user_id, counters->last_conv_id, counters->last_gseq,
                 stats.messages, stats.disk_bytes);
  }
  if (status_only) return 0;

  spdlog::info("ready; stop with SIGINT or SIGTERM");
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: committing queued writes and closing the store", sig);
  (*core)->Shutdown();
  spdlog::info("stopped cleanly");
  return 0;
}
