// parleyd: the Parley server. Opens the embedded store, starts the message core, the hub
// and the WebSocket/HTTP gateway, and serves until SIGINT/SIGTERM, then shuts down
// gracefully: stop accepting, answer in-flight requests, close clients with 1001, commit
// what is queued, close the store.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "common/crypto.h"
#include "common/files.h"
#include "gateway/server.h"
#include "hub/hub.h"
#include "metrics/metrics.h"
#include "search/search_service.h"
#include "server/admin_api.h"
#include "server/config_file.h"
#include "service/core.h"
#include "store/rocks_store.h"

namespace {

// Composes the hub with the commit metrics: both hear every durable commit.
// After each durable commit: push to online devices, and wake the search indexer.
class CommitFanout : public parley::CommitListener {
 public:
  CommitFanout(parley::Hub& hub, parley::metrics::Histogram& batch) : hub_(hub), batch_(batch) {}
  void OnCommit(const parley::CommitNotice& notice) override {
    batch_.Observe(static_cast<double>(notice.tasks));
    hub_.OnCommit(notice);
    if (auto* search = search_.load(std::memory_order_acquire)) {
      search->Notify(notice.committed_gseq);
    }
  }
  // The search service starts after the core (it reads the store), so it joins later.
  void SetSearch(parley::search::SearchService* search) { search_.store(search); }

 private:
  parley::Hub& hub_;
  parley::metrics::Histogram& batch_;
  std::atomic<parley::search::SearchService*> search_{nullptr};
};

}  // namespace

int main(int argc, char** argv) {
  // Private by default: everything parleyd and its libraries create (the store, the search
  // index, backups) is readable by the server's user only (common/files.h).
  ::umask(077);
  CLI::App app{"parleyd — the Parley instant-messaging server"};
  std::string config_path, data_dir, listen, port_file;
  bool status_only = false;
  app.add_option("--config", config_path, "TOML config file (see docs/operations.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--data", data_dir, "data directory (default ./data)");
  app.add_option("--listen", listen, "HOST:PORT to serve on (default 127.0.0.1:7800)");
  app.add_option("--port-file", port_file,
                 "write the bound port to this file once serving (for scripts and tests)");
  app.add_flag("--status", status_only, "print the store's status and exit");
  CLI11_PARSE(app, argc, argv);

  parley::ServerConfig config;
  if (!config_path.empty()) {
    if (auto st = parley::LoadConfigFile(config_path, &config); !st.ok()) {
      spdlog::critical("{}", st.ToString());
      return 2;
    }
  }
  // A config file holding the admin token is a secret file: refuse one others can read.
  if (!config_path.empty() && !config.admin_token.empty()) {
    if (auto st = parley::CheckSecretFile(config_path, "config file (it holds [admin] token)");
        !st.ok()) {
      spdlog::critical("{}", st.ToString());
      return 2;
    }
  }
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!listen.empty()) {
    auto st = parley::ParseListen(listen, &config.gateway.listen_host, &config.gateway.listen_port);
    if (!st.ok()) {
      spdlog::critical("--listen: {}", st.ToString());
      return 2;
    }
  }
  if (auto st = parley::InitCrypto(); !st.ok()) {
    spdlog::critical("{}", st.ToString());
    return 1;
  }

  // Block the stop signals (and SIGHUP, which reloads the TLS certificate) in every thread;
  // the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The data directory holds password hashes, tokens' digests and every message: 0700,
  // and an existing one with looser modes (an older parleyd, a copy) is tightened.
  if (auto st = parley::CreatePrivateDirs(config.data_dir); !st.ok()) {
    spdlog::critical("data directory: {}", st.ToString());
    return 1;
  }
  if (auto tightened = parley::MakeTreePrivate(config.data_dir); !tightened.ok()) {
    spdlog::critical("data directory: {}", tightened.status().ToString());
    return 1;
  } else if (*tightened > 0) {
    spdlog::warn(
        "data directory {}: {} files and directories were readable by other users; now "
        "owner-only (0700 directories, 0600 files)",
        config.data_dir, *tightened);
  }
  auto store = parley::OpenRocksStore(config.data_dir, config.store);
  if (!store.ok()) {
    spdlog::critical("{}", store.status().ToString());
    return 1;
  }
  parley::CheckpointSource* checkpoints = store->get();  // the embedded engine's, for backups

  parley::metrics::Registry registry;
  parley::Hub hub(config.gateway.max_sessions_per_user);
  auto& batch_sizes = registry.histogram(
      "parley_commit_batch_requests", "Requests folded into each durable commit.",
      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192});
  CommitFanout listener(hub, batch_sizes);
  auto core = parley::Core::Open(std::move(store).value(), config.service, &listener);
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

  std::unique_ptr<parley::search::SearchService> search;
  if (config.search.enabled) {
    auto& indexed = registry.counter("parley_search_documents_indexed_total",
                                     "Messages added, replaced or removed in the search index.");
    parley::search::IndexerOptions options;
    options.on_batch = [&indexed](size_t docs, double) { indexed.Inc(docs); };
    const std::string index_path =
        (std::filesystem::path(config.data_dir) / "search" / "index.db").string();
    auto opened =
        parley::search::SearchService::Open((*core)->store(), index_path, config.search, options);
    if (!opened.ok()) {
      spdlog::critical("search index: {}", opened.status().ToString());
      (*core)->Shutdown();
      return 1;
    }
    search = std::move(*opened);
    if (search->rebuilt()) {
      spdlog::info(
          "search index at {} is new or of another format: rebuilding it from the "
          "change feed in the background",
          index_path);
    }
    registry.gauge_fn(
        "parley_search_lag_changes", "Committed changes not yet indexed.",
        [s = search.get()] { return static_cast<double>(s->indexer().lag_changes()); });
    registry.gauge_fn("parley_search_lag_seconds", "Age of the oldest change not yet indexed.",
                      [s = search.get()] { return s->indexer().lag_seconds(); });
    registry.gauge_fn("parley_search_documents", "Messages in the search index.",
                      [s = search.get()] {
                        auto docs = s->index().docs();
                        return docs.ok() ? static_cast<double>(*docs) : -1.0;
                      });
    listener.SetSearch(search.get());
    search->Start();
  }

  std::unique_ptr<parley::backup::BackupService> backups;
  if (!config.backup.target.empty()) {
    auto opened = parley::backup::BackupService::Open(
        (*core)->store(), checkpoints, config.data_dir, config.backup,
        [](const std::string& line) { spdlog::info("audit: {}", line); });
    if (!opened.ok()) {
      spdlog::critical("backups: {}", opened.status().ToString());
      if (search) search->Stop();
      (*core)->Shutdown();
      return 1;
    }
    backups = std::move(*opened);
    auto* b = backups.get();
    registry.gauge_fn("parley_backup_last_success_timestamp_seconds",
                      "When the last backup succeeded (0: never).",
                      [b] { return static_cast<double>(b->stats().last_success_ms) / 1000.0; });
    registry.gauge_fn("parley_backup_last_duration_seconds", "How long the last backup took.",
                      [b] { return b->stats().last_seconds; });
    registry.gauge_fn("parley_backup_last_stored_bytes",
                      "Bytes the last backup wrote to the target (compressed).",
                      [b] { return static_cast<double>(b->stats().last_stored_bytes); });
    registry.gauge_fn("parley_backup_successes_total", "Backups completed (counter).",
                      [b] { return static_cast<double>(b->stats().successes); });
    registry.gauge_fn("parley_backup_failures_total", "Backups failed (counter).",
                      [b] { return static_cast<double>(b->stats().failures); });
    registry.gauge_fn("parley_backup_running", "1 while a backup runs.",
                      [b] { return b->running() ? 1.0 : 0.0; });
    backups->Start();
  }
  parley::AdminApi admin(config.admin_token, backups.get(), core->get());
  admin.SetRevokeUser([&core, &hub](const std::string& name) -> parley::Result<size_t> {
    auto& accounts = (*core)->accounts();
    PARLEY_ASSIGN_OR_RETURN(parley::UserRecord user, accounts.FindUser(name));
    PARLEY_ASSIGN_OR_RETURN(size_t revoked, accounts.RevokeAll(user.id));
    hub.Close(user.id, parley::Hub::Scope::kAllDevices, "", parley::kCloseRevoked,
              "session revoked: by an administrator");
    spdlog::info("audit: admin revoked user {} ({} devices)", user.name, revoked);
    return revoked;
  });
  parley::AdminHandler admin_handler;
  if (!config.admin_token.empty()) {
    admin_handler = [&admin](std::string method, std::string target, std::string authorization,
                             std::string body, std::function<void(int, std::string)> respond) {
      admin.Handle(method, target, authorization, body, std::move(respond));
    };
  }

  registry.gauge_fn("parley_process_resident_bytes", "Resident memory of parleyd.",
                    [] { return static_cast<double>(parley::metrics::ProcessRssBytes()); });
  registry.gauge_fn("parley_process_open_fds", "Open file descriptors of parleyd.",
                    [] { return static_cast<double>(parley::metrics::OpenFileCount()); });
  registry.gauge_fn("parley_process_max_fds", "Open-file limit of parleyd.",
                    [] { return static_cast<double>(parley::metrics::OpenFileLimit()); });
  registry.gauge_fn("parley_committed_gseq", "Last durable change number.", [c = core->get()] {
    return static_cast<double>(c->sequencer().committed_gseq());
  });

  auto server = parley::Server::Start(config.gateway, **core, hub, registry, search.get(),
                                      std::move(admin_handler));
  if (!server.ok()) {
    spdlog::critical("{}", server.status().ToString());
    if (search) search->Stop();
    (*core)->Shutdown();
    return 1;
  }
  const bool tls = !config.gateway.tls_cert_file.empty();
  spdlog::info("ready on {}://{}:{}/ws; stop with SIGINT or SIGTERM{}", tls ? "wss" : "ws",
               config.gateway.listen_host, (*server)->port(),
               tls ? "; SIGHUP reloads the TLS certificate" : "");
  if (!port_file.empty()) {
    // Written to a temporary file and renamed, so a reader never sees a partial file; not
    // secret, so readable by scripts of other users.
    const auto st = parley::WriteFileAtomically(
        port_file, std::to_string(static_cast<unsigned>((*server)->port())) + "\n", 0644);
    if (!st.ok()) spdlog::error("--port-file: {}", st.ToString());
  }

  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
    if (!tls) {
      spdlog::info("SIGHUP: nothing to reload (no [tls] configured)");
    } else if (auto st = (*server)->ReloadTls(); st.ok()) {
      spdlog::info("SIGHUP: reloaded the TLS certificate {}; new connections use it",
                   config.gateway.tls_cert_file);
    } else {
      spdlog::error("SIGHUP: {}; still serving the previous certificate", st.ToString());
    }
  }
  spdlog::info("signal {}: draining requests and closing connections", sig);
  admin.Wait();  // a backup asked for over HTTP completes and is answered first
  (*server)->Shutdown(std::chrono::seconds(5));
  if (backups) backups->Stop();  // a scheduled backup in progress completes first
  if (search) {
    listener.SetSearch(nullptr);
    search->Stop();  // its checkpoint is in the index: it resumes there next time
  }
  spdlog::info("committing queued writes and closing the store");
  (*core)->Shutdown();
  server->reset();
  spdlog::info("stopped cleanly");
  return 0;
}
