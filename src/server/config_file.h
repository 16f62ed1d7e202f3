// ServerConfig: everything `parleyd` can be told, from a TOML file (`--config FILE`) with
// command-line flags overriding it. docs/operations.md lists every key and its default.
#pragma once

#include <cstdint>
#include <string>

#include "backup/backup_service.h"
#include "cluster/cluster_config.h"
#include "common/status.h"
#include "files/files_config.h"
#include "gateway/config.h"
#include "pg/pg_store.h"
#include "search/search_service.h"
#include "service/config.h"
#include "store/rocks_store.h"
#include "web/web_config.h"

namespace parley {

struct ServerConfig {
  // Data directory of the embedded store. Default: ./data
  std::string data_dir = "./data";
  ServiceConfig service;
  GatewayConfig gateway;
  RocksStoreOptions store;
  // `[storage] engine`: the embedded RocksDB store in data_dir (one node), or PostgreSQL
  // (`[storage] url`), which several nodes share (cluster mode, docs/cluster.md).
  enum class StoreEngine { kRocksDb, kPostgres };
  StoreEngine engine = StoreEngine::kRocksDb;
  PgStoreOptions postgres;
  search::SearchConfig search;
  backup::BackupConfig backup;
  // [s3]: the S3-compatible service of s3:// targets (backups, attachments).
  s3::S3Config s3;
  // [attachments]: files and images (src/files); the store, limits, quota, retention.
  files::FilesConfig attachments;
  web::WebConfig web;
  // [cluster]: this node's name and its Redis; without Redis, single-node mode.
  ClusterConfig cluster;
  // Bearer token for the HTTP admin endpoints (/admin/…); empty: they are disabled.
  std::string admin_token;
};

// Reads `path` into `config`, keeping the values already there for absent keys. Fails
// with kInvalidArgument, naming the key ("session.max_frame_bytes"), on an unknown key (to
// catch typos), a value of the wrong type or out of range, or a TOML syntax error (with
// line and column). On failure `config` is unchanged.
Status LoadConfigFile(const std::string& path, ServerConfig* config);
// The same for a config held in memory; `source` names it in errors (the fuzz target).
Status LoadConfigText(std::string_view text, const std::string& source, ServerConfig* config);

// Parses "HOST:PORT" for the --listen flag and `server.listen`. HOST is an IPv4 address, a
// host name, or an IPv6 address in brackets (stored without them); PORT is 0-65535, where
// 0 asks the OS for a free port (tests, with --port-file). The config file rejects port 0.
// On failure host and port are unchanged.
Status ParseListen(const std::string& host_port, std::string* host, uint16_t* port);

}  // namespace parley
