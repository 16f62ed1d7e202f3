// ClusterConfig: the [cluster] table of parleyd's config file.
#pragma once

#include <cstdint>
#include <string>

namespace parley {

struct ClusterConfig {
  // This node's name: the origin of its hints, its entry in the node registry and in
  // presence. Default: empty = the host name.
  std::string node;
  // Redis ("host:port" in the file; an IP address avoids a blocking name lookup on
  // every reconnect). Default: empty = no Redis = single-node mode.
  std::string redis_host;
  uint16_t redis_port = 0;

  bool redis_enabled() const { return !redis_host.empty(); }
};

}  // namespace parley
