// parleyd: the Parley server. Reads its flags and config file, starts a Node (the store,
// core, commit feed, hub, search, backups and gateway: src/server/node.h), writes the port
// file, and serves until SIGINT/SIGTERM; SIGHUP reloads the TLS certificate. Stopping the
// node is graceful: stop accepting, answer in-flight requests, close clients with 1001,
// commit what is queued, close the store.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <string>

#include "common/files.h"
#include "server/config_file.h"
#include "server/node.h"

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
  // Block the stop signals (and SIGHUP, which reloads the TLS certificate) in every thread;
  // the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (status_only) {
    if (auto st = parley::LogStoreStatus(config); !st.ok()) {
      spdlog::critical("{}", st.ToString());
      return 1;
    }
    return 0;
  }
  auto node = parley::Node::Start(config);
  if (!node.ok()) {
    spdlog::critical("{}", node.status().ToString());
    return 1;
  }
  const bool tls = (*node)->tls();
  spdlog::info("ready on {}://{}:{}/ws; stop with SIGINT or SIGTERM{}", tls ? "wss" : "ws",
               config.gateway.listen_host, (*node)->port(),
               tls ? "; SIGHUP reloads the TLS certificate" : "");
  if (!port_file.empty()) {
    // Written to a temporary file and renamed, so a reader never sees a partial file; not
    // secret, so readable by scripts of other users.
    const auto st = parley::WriteFileAtomically(
        port_file, std::to_string(static_cast<unsigned>((*node)->port())) + "\n", 0644);
    if (!st.ok()) spdlog::error("--port-file: {}", st.ToString());
  }

  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
    if (!tls) {
      spdlog::info("SIGHUP: nothing to reload (no [tls] configured)");
    } else if (auto st = (*node)->ReloadTls(); st.ok()) {
      spdlog::info("SIGHUP: reloaded the TLS certificate {}; new connections use it",
                   config.gateway.tls_cert_file);
    } else {
      spdlog::error("SIGHUP: {}; still serving the previous certificate", st.ToString());
    }
  }
  spdlog::info("signal {}: draining requests and closing connections", sig);
  node->reset();
  spdlog::info("stopped cleanly");
  return 0;
}
