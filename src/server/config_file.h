// ServerConfig: everything `parleyd` can be told, from a TOML file (`--config FILE`) with
// command-line flags overriding it. docs/operations.md lists every key and its default.
#pragma once

#include <string>

#include "common/status.h"
#include "gateway/config.h"
#include "service/config.h"
#include "store/rocks_store.h"

namespace parley {

struct ServerConfig {
  // Data directory of the embedded store. Default: ./data
  std::string data_dir = "./data";
  ServiceConfig service;
  GatewayConfig gateway;
  RocksStoreOptions store;
};

// Reads `path` into `config`, keeping defaults for absent keys. kInvalidArgument names the
// key on a type or range error, or unknown keys (to catch typos).
Status LoadConfigFile(const std::string& path, ServerConfig* config);

// Parses "HOST:PORT" (the --listen flag and `server.listen`).
Status ParseListen(const std::string& host_port, std::string* host, uint16_t* port);

}  // namespace parley
