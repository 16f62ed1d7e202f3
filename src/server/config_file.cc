#include "server/config_file.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <set>

namespace parley {
namespace {

// Reads an integer key into `out`, checking the range.
template <typename T>
Status ReadInt(const toml::table& t, const char* key, T* out, int64_t min, int64_t max) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  auto v = n->value<int64_t>();
  if (!v || *v < min || *v > max) {
    return InvalidArgument(std::string("config key '") + key + "' must be an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  *out = static_cast<T>(*v);
  return Status::Ok();
}

Status CheckKnownKeys(const toml::table& t, const std::string& where,
                      const std::set<std::string>& known) {
  for (const auto& [k, v] : t) {
    if (!known.count(std::string(k.str()))) {
      return InvalidArgument("unknown config key '" + where + std::string(k.str()) + "'");
    }
  }
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, ServerConfig* c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("config " + path + ": " + std::string(e.description()));
  }
  PARLEY_RETURN_IF_ERROR(CheckKnownKeys(root, "", {"data_dir", "messages", "storage"}));
  if (auto v = root["data_dir"].value<std::string>()) c->data_dir = *v;

  if (const toml::table* m = root["messages"].as_table()) {
    PARLEY_RETURN_IF_ERROR(
        CheckKnownKeys(*m, "messages.",
                       {"max_message_bytes", "read_fanout_threshold", "max_group_members",
                        "recall_window_s", "dedup_ttl_s", "sync_max_limit", "history_max_limit"}));
    ServiceConfig& s = c->service;
    PARLEY_RETURN_IF_ERROR(ReadInt(*m, "max_message_bytes", &s.max_message_bytes, 1, 16 << 20));
    PARLEY_RETURN_IF_ERROR(
        ReadInt(*m, "read_fanout_threshold", &s.read_fanout_threshold, 2, 1000000));
    PARLEY_RETURN_IF_ERROR(ReadInt(*m, "max_group_members", &s.max_group_members, 2, 1000000));
    int64_t recall_s = s.recall_window_ms / 1000, dedup_s = s.dedup_ttl_ms / 1000;
    PARLEY_RETURN_IF_ERROR(ReadInt(*m, "recall_window_s", &recall_s, 0, 365LL * 86400));
    PARLEY_RETURN_IF_ERROR(ReadInt(*m, "dedup_ttl_s", &dedup_s, 60, 365LL * 86400));
    s.recall_window_ms = recall_s * 1000;
    s.dedup_ttl_ms = dedup_s * 1000;
    PARLEY_RETURN_IF_ERROR(ReadInt(*m, "sync_max_limit", &s.sync_max_limit, 1, 10000));
    PARLEY_RETURN_IF_ERROR(ReadInt(*m, "history_max_limit", &s.history_max_limit, 1, 1000));
  }
  if (const toml::table* st = root["storage"].as_table()) {
    PARLEY_RETURN_IF_ERROR(
        CheckKnownKeys(*st, "storage.", {"durability", "block_cache_mb", "write_buffer_mb"}));
    if (const toml::node* d = st->get("durability")) {
      auto v = d->value<std::string>();
      if (v && *v == "sync") {
        c->service.durability = Durability::kSync;
      } else if (v && *v == "buffered") {
        c->service.durability = Durability::kBuffered;
      } else {
        return InvalidArgument("config key 'storage.durability' must be \"sync\" or \"buffered\"");
      }
    }
    size_t cache_mb = c->store.block_cache_bytes >> 20, wb_mb = c->store.write_buffer_bytes >> 20;
    PARLEY_RETURN_IF_ERROR(ReadInt(*st, "block_cache_mb", &cache_mb, 8, 1 << 20));
    PARLEY_RETURN_IF_ERROR(ReadInt(*st, "write_buffer_mb", &wb_mb, 16, 1 << 16));
    c->store.block_cache_bytes = cache_mb << 20;
    c->store.write_buffer_bytes = wb_mb << 20;
  }
  return Status::Ok();
}

Status ParseListen(const std::string& host_port, std::string* host, uint16_t* port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("listen address '" + host_port + "' must be HOST:PORT");
  }
  const std::string port_text = host_port.substr(colon + 1);
  char* end = nullptr;
  unsigned long p = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || p > 65535) {
    return InvalidArgument("listen port in '" + host_port + "' must be 0-65535");
  }
  *host = host_port.substr(0, colon);
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

}  // namespace parley
