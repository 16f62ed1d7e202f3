#include "server/config_file.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <optional>
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

Status ReadDouble(const toml::table& t, const char* key, double* out, double min, double max) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  std::optional<double> v = n->value<double>();
  if (!v || *v < min || *v > max) {
    return InvalidArgument(std::string("config key '") + key + "' must be a number in [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  *out = *v;
  return Status::Ok();
}

Status ReadBool(const toml::table& t, const char* key, bool* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  std::optional<bool> v = n->value<bool>();
  if (!v) return InvalidArgument(std::string("config key '") + key + "' must be true or false");
  *out = *v;
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
  PARLEY_RETURN_IF_ERROR(CheckKnownKeys(
      root, "", {"data_dir", "messages", "storage", "accounts", "server", "session", "limits"}));
  GatewayConfig& g = c->gateway;
  if (const toml::table* t = root["server"].as_table()) {
    PARLEY_RETURN_IF_ERROR(CheckKnownKeys(
        *t, "server.", {"listen", "io_threads", "worker_threads", "max_connections"}));
    if (const toml::node* n = t->get("listen")) {
      auto v = n->value<std::string>();
      if (!v) return InvalidArgument("config key 'server.listen' must be \"HOST:PORT\"");
      PARLEY_RETURN_IF_ERROR(ParseListen(*v, &g.listen_host, &g.listen_port));
    }
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "io_threads", &g.io_threads, 0, 256));
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "worker_threads", &g.worker_threads, 0, 256));
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "max_connections", &g.max_connections, 1, 10000000));
  }
  if (const toml::table* t = root["session"].as_table()) {
    PARLEY_RETURN_IF_ERROR(CheckKnownKeys(
        *t, "session.",
        {"auth_timeout_ms", "idle_timeout_ms", "max_frame_bytes", "max_frame_hard_bytes",
         "outbox_max_frames", "outbox_max_bytes", "permessage_deflate"}));
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "auth_timeout_ms", &g.auth_timeout_ms, 100, 3600000));
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "idle_timeout_ms", &g.idle_timeout_ms, 1000, 86400000));
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "max_frame_bytes", &g.max_frame_bytes, 1024, 64 << 20));
    PARLEY_RETURN_IF_ERROR(
        ReadInt(*t, "max_frame_hard_bytes", &g.max_frame_hard_bytes, 1024, 256 << 20));
    if (g.max_frame_hard_bytes < g.max_frame_bytes) {
      return InvalidArgument(
          "config key 'session.max_frame_hard_bytes' must be >= max_frame_bytes");
    }
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "outbox_max_frames", &g.outbox_max_frames, 1, 1 << 24));
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "outbox_max_bytes", &g.outbox_max_bytes, 1024, 1LL << 32));
    PARLEY_RETURN_IF_ERROR(ReadBool(*t, "permessage_deflate", &g.permessage_deflate));
  }
  if (const toml::table* t = root["limits"].as_table()) {
    PARLEY_RETURN_IF_ERROR(
        CheckKnownKeys(*t, "limits.",
                       {"send_rate_per_conn", "send_burst_per_conn", "send_rate_per_user",
                        "send_burst_per_user", "auth_rate_per_conn", "auth_burst_per_conn",
                        "typing_rate_per_conn", "typing_burst_per_conn", "max_errors"}));
    constexpr double kMaxRate = 1e9;
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "send_rate_per_conn", &g.send_rate_per_conn, 0, kMaxRate));
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "send_burst_per_conn", &g.send_burst_per_conn, 1, kMaxRate));
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "send_rate_per_user", &g.send_rate_per_user, 0, kMaxRate));
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "send_burst_per_user", &g.send_burst_per_user, 1, kMaxRate));
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "auth_rate_per_conn", &g.auth_rate_per_conn, 0, kMaxRate));
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "auth_burst_per_conn", &g.auth_burst_per_conn, 1, kMaxRate));
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "typing_rate_per_conn", &g.typing_rate_per_conn, 0, kMaxRate));
    PARLEY_RETURN_IF_ERROR(
        ReadDouble(*t, "typing_burst_per_conn", &g.typing_burst_per_conn, 1, kMaxRate));
    PARLEY_RETURN_IF_ERROR(ReadInt(*t, "max_errors", &g.max_errors, 1, 1000000));
  }
  if (const toml::table* a = root["accounts"].as_table()) {
    PARLEY_RETURN_IF_ERROR(CheckKnownKeys(*a, "accounts.", {"password_hash"}));
    if (const toml::node* n = a->get("password_hash")) {
      auto v = n->value<std::string>();
      if (v && *v == "interactive") {
        c->service.password_cost = PasswordCost::kInteractive;
      } else if (v && *v == "min") {
        c->service.password_cost = PasswordCost::kMinimum;
      } else {
        return InvalidArgument(
            "config key 'accounts.password_hash' must be \"interactive\" or \"min\"");
      }
    }
  }
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
