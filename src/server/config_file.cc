// LoadConfigFile: the TOML file into ServerConfig. Strict on purpose: an unknown key, a
// value of the wrong type (true is not 1, 1.0 is not an integer) or out of range is an
// error naming the key, so a typo stops the server at start-up instead of silently
// leaving a default in force.
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <utility>

#include "server/config_file.h"

#include "gateway/client_address.h"

namespace parley {
namespace {

// Shortest plain decimal ("1000000000", "0.5") for range messages.
std::string Num(double v) {
  char buf[400];  // fixed notation of the largest double needs 309 digits
  return std::string(buf, std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed).ptr);
}

// Reads the keys of one table; errors name the key with its table ("session.max_errors").
class Table {
 public:
  Table(const toml::table& t, std::string prefix) : t_(t), prefix_(std::move(prefix)) {}

  std::string Name(std::string_view key) const { return prefix_ + std::string(key); }

  Status OnlyKeys(std::initializer_list<std::string_view> known) const {
    for (const auto& [k, v] : t_) {
      if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
        return InvalidArgument("unknown config key '" + Name(k.str()) + "'");
      }
    }
    return Status::Ok();
  }

  // Integers only: value_exact, because toml++'s value<int64_t>() turns `true` into 1 and
  // 2.0 into 2.
  template <typename T>
  Status Int(const char* key, T* out, int64_t min, int64_t max) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::Ok();
    std::optional<int64_t> v = n->value_exact<int64_t>();
    if (!v || *v < min || *v > max) {
      return InvalidArgument("config key '" + Name(key) + "' must be an integer in [" +
                             std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    *out = static_cast<T>(*v);
    return Status::Ok();
  }

  // Floats, or integers (`rate = 5`). NaN fails the range check rather than slipping
  // through comparisons that are all false.
  Status Double(const char* key, double* out, double min, double max) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::Ok();
    std::optional<double> v;
    if (n->is_floating_point()) v = n->value_exact<double>();
    if (n->is_integer()) v = static_cast<double>(*n->value_exact<int64_t>());
    if (!v || !(*v >= min && *v <= max)) {
      return InvalidArgument("config key '" + Name(key) + "' must be a number in [" + Num(min) +
                             ", " + Num(max) + "]");
    }
    *out = *v;
    return Status::Ok();
  }

  Status Bool(const char* key, bool* out) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::Ok();
    std::optional<bool> v = n->value_exact<bool>();
    if (!v) return InvalidArgument("config key '" + Name(key) + "' must be true or false");
    *out = *v;
    return Status::Ok();
  }

  // A string naming one of `choices`.
  template <typename E>
  Status Choice(const char* key, std::initializer_list<std::pair<std::string_view, E>> choices,
                E* out) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::Ok();
    std::optional<std::string> v = n->value_exact<std::string>();
    std::string names;
    for (const auto& [name, value] : choices) {
      if (v && *v == name) {
        *out = value;
        return Status::Ok();
      }
      names += std::string(names.empty() ? "" : " or ") + "\"" + std::string(name) + "\"";
    }
    return InvalidArgument("config key '" + Name(key) + "' must be " + names);
  }

  const toml::node* Get(const char* key) const { return t_.get(key); }

 private:
  const toml::table& t_;
  std::string prefix_;
};

// The root's sub-table `name`, or nullptr if absent; `server = 5` is an error, not absent.
Status SubTable(const toml::table& root, const char* name, const toml::table** out) {
  *out = nullptr;
  const toml::node* n = root.get(name);
  if (!n) return Status::Ok();
  *out = n->as_table();
  if (!*out) return InvalidArgument(std::string("config key '") + name + "' must be a table");
  return Status::Ok();
}

// A "HOST:PORT" key (server.listen, admin.listen).
Status ReadListen(const Table& t, const char* key, std::string* host, uint16_t* port) {
  const toml::node* n = t.Get(key);
  if (!n) return Status::Ok();
  std::optional<std::string> v = n->value_exact<std::string>();
  if (!v) return InvalidArgument("config key '" + t.Name(key) + "' must be a \"HOST:PORT\" string");
  std::string h;
  uint16_t p = 0;
  Status st = ParseListen(*v, &h, &p);
  if (!st.ok()) return InvalidArgument("config key '" + t.Name(key) + "': " + st.message());
  // Port 0 (any free port) suits tests with --port-file, never a config file: clients
  // could not find the server.
  if (p == 0) return InvalidArgument("config key '" + t.Name(key) + "' needs a port in [1, 65535]");
  *host = std::move(h);
  *port = p;
  return Status::Ok();
}

// A list of non-empty strings at `key` into *out (absent: *out unchanged); false if it is
// something else.
bool StringList(const Table& t, const char* key, std::vector<std::string>* out) {
  const toml::node* n = t.Get(key);
  if (n == nullptr) return true;
  const toml::array* list = n->as_array();
  if (list == nullptr) return false;
  std::vector<std::string> values;
  for (size_t i = 0; i < list->size(); ++i) {
    std::optional<std::string> v = (*list)[i].value_exact<std::string>();
    if (!v || v->empty()) return false;
    values.push_back(*v);
  }
  *out = std::move(values);
  return true;
}

Status ReadServer(const Table& t, GatewayConfig* g) {
  PARLEY_RETURN_IF_ERROR(
      t.OnlyKeys({"listen", "io_threads", "worker_threads", "max_connections", "allowed_origins",
                  "http_idle_timeout_ms", "http_max_requests_per_conn", "shutdown_grace_ms",
                  "trusted_proxies"}));
  PARLEY_RETURN_IF_ERROR(t.Int("shutdown_grace_ms", &g->shutdown_grace_ms, 0, 600'000));
  PARLEY_RETURN_IF_ERROR(ReadListen(t, "listen", &g->listen_host, &g->listen_port));
  PARLEY_RETURN_IF_ERROR(t.Int("io_threads", &g->io_threads, 0, 256));
  PARLEY_RETURN_IF_ERROR(t.Int("worker_threads", &g->worker_threads, 0, 256));
  PARLEY_RETURN_IF_ERROR(t.Int("max_connections", &g->max_connections, 1, 10'000'000));
  if (!StringList(t, "allowed_origins", &g->allowed_origins)) {
    return InvalidArgument(
        "config key 'server.allowed_origins' must be a list of origins such as "
        "[\"https://chat.example.com\"] (or [\"*\"])");
  }
  if (!StringList(t, "trusted_proxies", &g->trusted_proxies)) {
    return InvalidArgument(
        "config key 'server.trusted_proxies' must be a list of addresses or CIDR blocks such "
        "as [\"127.0.0.1\", \"10.0.0.0/8\"]");
  }
  if (auto proxies = TrustedProxies::Parse(g->trusted_proxies); !proxies.ok()) {
    return InvalidArgument("config key 'server.trusted_proxies': " + proxies.status().message());
  }
  PARLEY_RETURN_IF_ERROR(t.Int("http_idle_timeout_ms", &g->http_idle_timeout_ms, 100, 3'600'000));
  return t.Int("http_max_requests_per_conn", &g->http_max_requests_per_conn, 1, 1'000'000);
}

Status ReadSession(const Table& t, GatewayConfig* g) {
  PARLEY_RETURN_IF_ERROR(
      t.OnlyKeys({"auth_timeout_ms", "idle_timeout_ms", "max_frame_bytes", "max_frame_hard_bytes",
                  "outbox_max_frames", "outbox_max_bytes", "permessage_deflate",
                  "deflate_server_max_window_bits", "deflate_client_max_window_bits",
                  "deflate_mem_level", "deflate_comp_level", "deflate_server_no_context_takeover",
                  "deflate_client_no_context_takeover", "max_frame_bytes_before_auth"}));
  PARLEY_RETURN_IF_ERROR(t.Int("auth_timeout_ms", &g->auth_timeout_ms, 100, 3'600'000));
  PARLEY_RETURN_IF_ERROR(t.Int("idle_timeout_ms", &g->idle_timeout_ms, 1000, 86'400'000));
  PARLEY_RETURN_IF_ERROR(t.Int("max_frame_bytes", &g->max_frame_bytes, 1024, 64 << 20));
  PARLEY_RETURN_IF_ERROR(t.Int("max_frame_hard_bytes", &g->max_frame_hard_bytes, 1024, 256 << 20));
  PARLEY_RETURN_IF_ERROR(t.Int("outbox_max_frames", &g->outbox_max_frames, 1, 1 << 24));
  PARLEY_RETURN_IF_ERROR(t.Int("outbox_max_bytes", &g->outbox_max_bytes, 1024, int64_t{1} << 32));
  PARLEY_RETURN_IF_ERROR(
      t.Int("max_frame_bytes_before_auth", &g->max_frame_bytes_before_auth, 1024, 1 << 20));
  PARLEY_RETURN_IF_ERROR(t.Bool("permessage_deflate", &g->permessage_deflate));
  // Beast refuses window bits below 9 (zlib treats 8 as 9) and throws on them.
  PARLEY_RETURN_IF_ERROR(
      t.Int("deflate_server_max_window_bits", &g->deflate_server_max_window_bits, 9, 15));
  PARLEY_RETURN_IF_ERROR(
      t.Int("deflate_client_max_window_bits", &g->deflate_client_max_window_bits, 9, 15));
  PARLEY_RETURN_IF_ERROR(t.Int("deflate_mem_level", &g->deflate_mem_level, 1, 9));
  PARLEY_RETURN_IF_ERROR(t.Int("deflate_comp_level", &g->deflate_comp_level, 0, 9));
  PARLEY_RETURN_IF_ERROR(
      t.Bool("deflate_server_no_context_takeover", &g->deflate_server_no_context_takeover));
  return t.Bool("deflate_client_no_context_takeover", &g->deflate_client_no_context_takeover);
}

Status ReadLimits(const Table& t, GatewayConfig* g) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"send_rate_per_conn",
                                     "send_burst_per_conn",
                                     "send_rate_per_user",
                                     "send_burst_per_user",
                                     "auth_rate_per_conn",
                                     "auth_burst_per_conn",
                                     "typing_rate_per_conn",
                                     "typing_burst_per_conn",
                                     "search_rate_per_conn",
                                     "search_burst_per_conn",
                                     "max_errors",
                                     "send_max_wait_ms",
                                     "typing_rate_per_user",
                                     "typing_burst_per_user",
                                     "typing_rate_per_conv",
                                     "typing_burst_per_conv",
                                     "membership_rate_per_user",
                                     "membership_burst_per_user",
                                     "max_connections_per_ip",
                                     "handshake_rate_per_ip",
                                     "handshake_burst_per_ip",
                                     "login_failures_per_account",
                                     "login_failures_per_ip",
                                     "login_backoff_initial_ms",
                                     "login_backoff_max_account_ms",
                                     "login_backoff_max_ip_ms",
                                     "users_rate_per_conn",
                                     "users_burst_per_conn",
                                     "users_rate_per_user",
                                     "users_burst_per_user",
                                     "register_rate_per_ip",
                                     "register_burst_per_ip",
                                     "max_sessions_per_user"}));
  // Rates may be 0 (no limit); a burst below 1 would refuse everything.
  constexpr double kMax = 1e9;
  PARLEY_RETURN_IF_ERROR(t.Double("send_rate_per_conn", &g->send_rate_per_conn, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("send_burst_per_conn", &g->send_burst_per_conn, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("send_rate_per_user", &g->send_rate_per_user, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("send_burst_per_user", &g->send_burst_per_user, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("auth_rate_per_conn", &g->auth_rate_per_conn, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("auth_burst_per_conn", &g->auth_burst_per_conn, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("typing_rate_per_conn", &g->typing_rate_per_conn, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("typing_burst_per_conn", &g->typing_burst_per_conn, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("search_rate_per_conn", &g->search_rate_per_conn, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("search_burst_per_conn", &g->search_burst_per_conn, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Int("send_max_wait_ms", &g->send_max_wait_ms, 0, 600'000));
  PARLEY_RETURN_IF_ERROR(t.Double("typing_rate_per_user", &g->typing_rate_per_user, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("typing_burst_per_user", &g->typing_burst_per_user, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("typing_rate_per_conv", &g->typing_rate_per_conv, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("typing_burst_per_conv", &g->typing_burst_per_conv, 1, kMax));
  PARLEY_RETURN_IF_ERROR(
      t.Double("membership_rate_per_user", &g->membership_rate_per_user, 0, kMax));
  PARLEY_RETURN_IF_ERROR(
      t.Double("membership_burst_per_user", &g->membership_burst_per_user, 1, kMax));
  PARLEY_RETURN_IF_ERROR(
      t.Int("max_connections_per_ip", &g->max_connections_per_ip, 0, 10'000'000));
  PARLEY_RETURN_IF_ERROR(t.Double("handshake_rate_per_ip", &g->handshake_rate_per_ip, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("handshake_burst_per_ip", &g->handshake_burst_per_ip, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Int("max_errors", &g->max_errors, 1, 1'000'000));
  PARLEY_RETURN_IF_ERROR(t.Int("max_sessions_per_user", &g->max_sessions_per_user, 0, 1'000'000));
  PARLEY_RETURN_IF_ERROR(
      t.Int("login_failures_per_account", &g->login_failures_per_account, 0, 1'000'000));
  PARLEY_RETURN_IF_ERROR(t.Int("login_failures_per_ip", &g->login_failures_per_ip, 0, 1'000'000));
  PARLEY_RETURN_IF_ERROR(
      t.Int("login_backoff_initial_ms", &g->login_backoff_initial_ms, 1, 3'600'000));
  PARLEY_RETURN_IF_ERROR(
      t.Int("login_backoff_max_account_ms", &g->login_backoff_max_account_ms, 1, 86'400'000));
  PARLEY_RETURN_IF_ERROR(
      t.Int("login_backoff_max_ip_ms", &g->login_backoff_max_ip_ms, 1, 86'400'000));
  PARLEY_RETURN_IF_ERROR(t.Double("users_rate_per_conn", &g->users_rate_per_conn, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("users_burst_per_conn", &g->users_burst_per_conn, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("users_rate_per_user", &g->users_rate_per_user, 0, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("users_burst_per_user", &g->users_burst_per_user, 1, kMax));
  PARLEY_RETURN_IF_ERROR(t.Double("register_rate_per_ip", &g->register_rate_per_ip, 0, kMax));
  return t.Double("register_burst_per_ip", &g->register_burst_per_ip, 1, kMax);
}

Status ReadMessages(const Table& t, ServiceConfig* s) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"max_message_bytes", "read_fanout_threshold",
                                     "max_group_members", "recall_window_s", "edit_window_s",
                                     "dedup_ttl_s", "sync_max_limit", "history_max_limit"}));
  PARLEY_RETURN_IF_ERROR(t.Int("max_message_bytes", &s->max_message_bytes, 1, 16 << 20));
  PARLEY_RETURN_IF_ERROR(t.Int("read_fanout_threshold", &s->read_fanout_threshold, 2, 1'000'000));
  PARLEY_RETURN_IF_ERROR(t.Int("max_group_members", &s->max_group_members, 2, 1'000'000));
  int64_t recall_s = s->recall_window_ms / 1000, dedup_s = s->dedup_ttl_ms / 1000;
  int64_t edit_s = s->edit_window_ms / 1000;
  PARLEY_RETURN_IF_ERROR(t.Int("recall_window_s", &recall_s, 0, 365LL * 86400));
  PARLEY_RETURN_IF_ERROR(t.Int("edit_window_s", &edit_s, 0, 365LL * 86400));
  PARLEY_RETURN_IF_ERROR(t.Int("dedup_ttl_s", &dedup_s, 60, 365LL * 86400));
  s->recall_window_ms = recall_s * 1000;
  s->edit_window_ms = edit_s * 1000;
  s->dedup_ttl_ms = dedup_s * 1000;
  PARLEY_RETURN_IF_ERROR(t.Int("sync_max_limit", &s->sync_max_limit, 1, 10'000));
  PARLEY_RETURN_IF_ERROR(t.Int("history_max_limit", &s->history_max_limit, 1, 1000));
  // The default page sizes are not configurable; keep them within a lowered maximum so
  // a request without `limit` never gets more than any request could ask for.
  s->sync_default_limit = std::min(s->sync_default_limit, s->sync_max_limit);
  s->history_default_limit = std::min(s->history_default_limit, s->history_max_limit);
  return Status::Ok();
}

Status ReadString(const Table& t, const char* key, std::string* out);

Status ReadStorage(const Table& t, ServerConfig* c) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"durability", "block_cache_mb", "write_buffer_mb", "engine",
                                     "url", "schema", "readers", "max_queued_writes"}));
  PARLEY_RETURN_IF_ERROR(
      t.Choice<ServerConfig::StoreEngine>("engine",
                                          {{"rocksdb", ServerConfig::StoreEngine::kRocksDb},
                                           {"postgres", ServerConfig::StoreEngine::kPostgres}},
                                          &c->engine));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "url", &c->postgres.url));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "schema", &c->postgres.schema));
  PARLEY_RETURN_IF_ERROR(t.Int("readers", &c->postgres.readers, 1, 256));
  const bool postgres = c->engine == ServerConfig::StoreEngine::kPostgres;
  if (postgres && c->postgres.url.empty()) {
    return InvalidArgument("config key '" + t.Name("url") +
                           "' is required with engine = \"postgres\"");
  }
  if (!postgres && !c->postgres.url.empty()) {
    return InvalidArgument("config key '" + t.Name("url") + "' needs engine = \"postgres\"");
  }
  if (c->postgres.schema.empty() || c->postgres.schema.size() > 63) {
    return InvalidArgument("config key '" + t.Name("schema") + "' must be 1-63 characters");
  }
  PARLEY_RETURN_IF_ERROR(t.Choice<Durability>(
      "durability", {{"sync", Durability::kSync}, {"buffered", Durability::kBuffered}},
      &c->service.durability));
  PARLEY_RETURN_IF_ERROR(t.Int("max_queued_writes", &c->service.max_queued_writes, 1, 100'000'000));
  size_t cache_mb = c->store.block_cache_bytes >> 20, wb_mb = c->store.write_buffer_bytes >> 20;
  PARLEY_RETURN_IF_ERROR(t.Int("block_cache_mb", &cache_mb, 8, 1 << 20));
  PARLEY_RETURN_IF_ERROR(t.Int("write_buffer_mb", &wb_mb, 16, 1 << 16));
  c->store.block_cache_bytes = cache_mb << 20;
  c->store.write_buffer_bytes = wb_mb << 20;
  return Status::Ok();
}

Status ReadAccounts(const Table& t, ServerConfig* c) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"password_hash", "registration", "hash_threads", "hash_queue",
                                     "token_ttl_days", "token_cache_ms"}));
  // Fractional days are allowed (0.0001 ~ 8.6 s), so tests can watch tokens expire.
  constexpr double kDayMs = 86400.0 * 1000;
  ServiceConfig* s = &c->service;
  double ttl_days = static_cast<double>(s->token_ttl_ms) / kDayMs;
  PARLEY_RETURN_IF_ERROR(t.Double("token_ttl_days", &ttl_days, 0, 36500));
  s->token_ttl_ms = static_cast<int64_t>(ttl_days * kDayMs + 0.5);
  if (ttl_days > 0 && s->token_ttl_ms < 1000) {
    return InvalidArgument("config key 'accounts.token_ttl_days' must be 0 or at least 1 second");
  }
  PARLEY_RETURN_IF_ERROR(t.Int("token_cache_ms", &s->token_cache_ms, 0, 3'600'000));
  PARLEY_RETURN_IF_ERROR(t.Choice<PasswordCost>(
      "password_hash",
      {{"interactive", PasswordCost::kInteractive}, {"min", PasswordCost::kMinimum}},
      &c->service.password_cost));
  PARLEY_RETURN_IF_ERROR(t.Choice<RegistrationPolicy>("registration",
                                                      {{"open", RegistrationPolicy::kOpen},
                                                       {"invite", RegistrationPolicy::kInvite},
                                                       {"closed", RegistrationPolicy::kClosed}},
                                                      &c->service.registration));
  PARLEY_RETURN_IF_ERROR(t.Int("hash_threads", &c->gateway.hash_threads, 0, 256));
  return t.Int("hash_queue", &c->gateway.hash_queue, 1, 1'000'000);
}

Status ReadSearch(const Table& t, search::SearchConfig* s) {
  PARLEY_RETURN_IF_ERROR(
      t.OnlyKeys({"enabled", "batch_changes", "idle_poll_ms", "default_limit", "max_limit"}));
  PARLEY_RETURN_IF_ERROR(t.Bool("enabled", &s->enabled));
  PARLEY_RETURN_IF_ERROR(t.Int("batch_changes", &s->batch_changes, 1, 1'000'000));
  PARLEY_RETURN_IF_ERROR(t.Int("idle_poll_ms", &s->idle_poll_ms, 10, 60'000));
  PARLEY_RETURN_IF_ERROR(t.Int("max_limit", &s->max_limit, 1, 1000));
  PARLEY_RETURN_IF_ERROR(t.Int("default_limit", &s->default_limit, 1, 1000));
  if (s->default_limit > s->max_limit) {
    return InvalidArgument("config key 'search.default_limit' must be <= search.max_limit");
  }
  return Status::Ok();
}

Status ReadString(const Table& t, const char* key, std::string* out) {
  const toml::node* n = t.Get(key);
  if (!n) return Status::Ok();
  std::optional<std::string> v = n->value_exact<std::string>();
  if (!v) return InvalidArgument("config key '" + t.Name(key) + "' must be a string");
  *out = *v;
  return Status::Ok();
}

Status ReadBackup(const Table& t, backup::BackupConfig* b) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"target", "key_file", "zstd_level", "incremental_every_s",
                                     "full_every_s", "keep_last", "keep_days"}));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "target", &b->target));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "key_file", &b->key_file));
  PARLEY_RETURN_IF_ERROR(t.Int("zstd_level", &b->zstd_level, 1, 19));
  PARLEY_RETURN_IF_ERROR(t.Int("incremental_every_s", &b->incremental_every_s, 0, 365LL * 86400));
  PARLEY_RETURN_IF_ERROR(t.Int("full_every_s", &b->full_every_s, 0, 365LL * 86400));
  PARLEY_RETURN_IF_ERROR(t.Int("keep_last", &b->keep_last, 0, 100'000));
  PARLEY_RETURN_IF_ERROR(t.Int("keep_days", &b->keep_days, 0, 36'500));
  if (b->target.empty() && (b->incremental_every_s > 0 || b->full_every_s > 0)) {
    return InvalidArgument("config key 'backup.target' is needed to schedule backups");
  }
  return Status::Ok();
}

Status ReadS3(const Table& t, s3::S3Config* s) {
  PARLEY_RETURN_IF_ERROR(
      t.OnlyKeys({"endpoint", "region", "access_key", "secret_key_file", "path_style", "ca_file"}));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "endpoint", &s->endpoint));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "region", &s->region));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "access_key", &s->credentials.access_key));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "secret_key_file", &s->secret_key_file));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "ca_file", &s->ca_file));
  PARLEY_RETURN_IF_ERROR(t.Bool("path_style", &s->path_style));
  if (!s->endpoint.empty() && !s->endpoint.starts_with("http://") &&
      !s->endpoint.starts_with("https://")) {
    return InvalidArgument("config key 's3.endpoint' must be http(s)://host[:port]");
  }
  return Status::Ok();
}

// [attachments]: sizes in MiB, times in the unit their name says.
Status ReadAttachments(const Table& t, files::FilesConfig* f) {
  PARLEY_RETURN_IF_ERROR(
      t.OnlyKeys({"enabled", "store", "dir", "max_file_mb", "part_mb", "quota_mb",
                  "upload_ttl_hours", "retention_days", "presign_ttl_s", "max_image_pixels",
                  "max_image_mb", "thumbnail_timeout_ms", "collect_every_s", "threads"}));
  PARLEY_RETURN_IF_ERROR(t.Bool("enabled", &f->enabled));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "store", &f->store));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "dir", &f->dir));
  if (!f->store.empty() && f->store != "local" && !f->store.starts_with("s3://")) {
    return InvalidArgument(
        "config key 'attachments.store' must be \"local\" or s3://BUCKET/PREFIX");
  }
  auto mib = [&](const char* key, uint64_t* bytes, int64_t min, int64_t max) -> Status {
    int64_t v = static_cast<int64_t>(*bytes >> 20);
    PARLEY_RETURN_IF_ERROR(t.Int(key, &v, min, max));
    *bytes = static_cast<uint64_t>(v) << 20;
    return Status::Ok();
  };
  PARLEY_RETURN_IF_ERROR(mib("max_file_mb", &f->max_file_bytes, 1, 1 << 20));
  PARLEY_RETURN_IF_ERROR(mib("part_mb", &f->part_bytes, 5, 512));
  PARLEY_RETURN_IF_ERROR(mib("quota_mb", &f->quota_bytes, 0, 1LL << 30));
  PARLEY_RETURN_IF_ERROR(mib("max_image_mb", &f->max_image_bytes, 1, 1024));
  int64_t hours = f->upload_ttl_ms / 3'600'000, days = f->retention_ms / 86'400'000;
  PARLEY_RETURN_IF_ERROR(t.Int("upload_ttl_hours", &hours, 1, 24 * 365));
  PARLEY_RETURN_IF_ERROR(t.Int("retention_days", &days, 0, 36'500));
  f->upload_ttl_ms = hours * 3'600'000;
  f->retention_ms = days * 86'400'000;
  PARLEY_RETURN_IF_ERROR(t.Int("presign_ttl_s", &f->presign_ttl_s, 10, 7 * 86400));
  PARLEY_RETURN_IF_ERROR(t.Int("max_image_pixels", &f->max_image_pixels, 1, 1'000'000'000));
  PARLEY_RETURN_IF_ERROR(t.Int("thumbnail_timeout_ms", &f->thumbnail_timeout_ms, 100, 600'000));
  int64_t collect_s = f->collect_every_ms / 1000;
  PARLEY_RETURN_IF_ERROR(t.Int("collect_every_s", &collect_s, 0, 7 * 86400));
  f->collect_every_ms = collect_s * 1000;
  PARLEY_RETURN_IF_ERROR(t.Int("threads", &f->threads, 1, 64));
  return Status::Ok();
}

// [web]: the web client's files (src/web).
Status ReadWeb(const Table& t, web::WebConfig* w) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"enabled", "dir"}));
  PARLEY_RETURN_IF_ERROR(t.Bool("enabled", &w->enabled));
  return ReadString(t, "dir", &w->dir);
}

Status ReadTls(const Table& t, GatewayConfig* g) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"cert_file", "key_file"}));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "cert_file", &g->tls_cert_file));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "key_file", &g->tls_key_file));
  if (g->tls_cert_file.empty() != g->tls_key_file.empty()) {
    return InvalidArgument("config keys 'tls.cert_file' and 'tls.key_file' go together");
  }
  return Status::Ok();
}

Status ReadAdmin(const Table& t, ServerConfig* c) {
  std::string* token = &c->admin_token;
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"token", "listen"}));
  PARLEY_RETURN_IF_ERROR(
      ReadListen(t, "listen", &c->gateway.admin_listen_host, &c->gateway.admin_listen_port));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "token", token));
  if (!token->empty() && token->size() < 16) {
    return InvalidArgument("config key 'admin.token' must be at least 16 characters");
  }
  return Status::Ok();
}

Status ReadCluster(const Table& t, ClusterConfig* c) {
  PARLEY_RETURN_IF_ERROR(t.OnlyKeys({"node", "redis"}));
  PARLEY_RETURN_IF_ERROR(ReadString(t, "node", &c->node));
  if (c->node.size() > 255) {
    return InvalidArgument("config key 'cluster.node' must be at most 255 characters");
  }
  if (const toml::node* n = t.Get("redis")) {
    std::optional<std::string> v = n->value_exact<std::string>();
    if (v && v->empty()) {  // explicitly none: single-node mode
      c->redis_host.clear();
      c->redis_port = 0;
      return Status::Ok();
    }
  }
  return ReadListen(t, "redis", &c->redis_host, &c->redis_port);
}

Status ReadRoot(const toml::table& root, ServerConfig* c) {
  const Table top(root, "");
  PARLEY_RETURN_IF_ERROR(top.OnlyKeys({"data_dir", "server", "session", "limits", "messages",
                                       "storage", "store", "accounts", "search", "backup", "admin",
                                       "tls", "cluster", "s3", "attachments", "web"}));
  if (const toml::node* n = top.Get("data_dir")) {
    std::optional<std::string> v = n->value_exact<std::string>();
    if (!v || v->empty())
      return InvalidArgument("config key 'data_dir' must be a non-empty string");
    c->data_dir = *v;
  }
  const toml::table* t = nullptr;
  PARLEY_RETURN_IF_ERROR(SubTable(root, "server", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadServer(Table(*t, "server."), &c->gateway));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "session", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadSession(Table(*t, "session."), &c->gateway));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "limits", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadLimits(Table(*t, "limits."), &c->gateway));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "messages", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadMessages(Table(*t, "messages."), &c->service));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "storage", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadStorage(Table(*t, "storage."), c));
  // `[store]` is accepted as another name of `[storage]` (the cluster docs' spelling); one
  // file may not use both.
  const toml::table* alias = nullptr;
  PARLEY_RETURN_IF_ERROR(SubTable(root, "store", &alias));
  if (alias && t)
    return InvalidArgument("config tables 'storage' and 'store' are the same: use one");
  if (alias) PARLEY_RETURN_IF_ERROR(ReadStorage(Table(*alias, "store."), c));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "accounts", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadAccounts(Table(*t, "accounts."), c));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "search", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadSearch(Table(*t, "search."), &c->search));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "backup", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadBackup(Table(*t, "backup."), &c->backup));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "admin", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadAdmin(Table(*t, "admin."), c));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "tls", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadTls(Table(*t, "tls."), &c->gateway));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "cluster", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadCluster(Table(*t, "cluster."), &c->cluster));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "s3", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadS3(Table(*t, "s3."), &c->s3));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "attachments", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadAttachments(Table(*t, "attachments."), &c->attachments));
  PARLEY_RETURN_IF_ERROR(SubTable(root, "web", &t));
  if (t) PARLEY_RETURN_IF_ERROR(ReadWeb(Table(*t, "web."), &c->web));
  c->backup.s3 = c->s3;
  c->attachments.s3 = c->s3;
  if (c->attachments.store.starts_with("s3://") && c->s3.endpoint.empty()) {
    return InvalidArgument("config key 'attachments.store' is an s3:// store: set [s3] endpoint");
  }
  if (c->backup.target.starts_with("s3://") && c->s3.endpoint.empty()) {
    return InvalidArgument("config key 'backup.target' is an s3:// target: set [s3] endpoint");
  }
  // Checked after both keys are read (either may be absent and keep its default).
  if (c->gateway.max_frame_hard_bytes < c->gateway.max_frame_bytes) {
    return InvalidArgument("config key 'session.max_frame_hard_bytes' (" +
                           std::to_string(c->gateway.max_frame_hard_bytes) +
                           ") must be >= session.max_frame_bytes (" +
                           std::to_string(c->gateway.max_frame_bytes) + ")");
  }
  return Status::Ok();
}

// Parses with `parse` (a file or a text), then reads the tables into a copy of `config`.
template <typename Parse>
Status LoadConfig(const std::string& source, Parse parse, ServerConfig* config) {
  toml::table root;
  try {
    root = parse();
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return InvalidArgument("config " + source + ":" + std::to_string(at.line) + ":" +
                           std::to_string(at.column) + ": " + std::string(e.description()));
  }
  // Fill a copy: a file with an error changes nothing.
  ServerConfig c = *config;
  PARLEY_RETURN_IF_ERROR(ReadRoot(root, &c));
  *config = std::move(c);
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, ServerConfig* config) {
  return LoadConfig(
      path, [&] { return toml::parse_file(path); }, config);
}

Status LoadConfigText(std::string_view text, const std::string& source, ServerConfig* config) {
  return LoadConfig(
      source, [&] { return toml::parse(text, source); }, config);
}

}  // namespace parley
