// Tests for the TOML config loader and ParseListen: a complete file lands in every field,
// and each kind of mistake is refused with a message naming the key.
#include "server/config_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace parley {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unlink(path_.c_str()); }

  Status Load(const std::string& toml) {
    std::ofstream(path_) << toml;
    return LoadConfigFile(path_, &config_);
  }
  // The "Complete example" of docs/operations.md, with a leading newline so that every
  // key, the first too, follows one; empty if it cannot be found.
  static std::string DocumentedExample() {
    std::ifstream docs(PARLEY_OPERATIONS_MD);
    std::stringstream text;
    text << docs.rdbuf();
    const std::string md = text.str();
    size_t at = md.find("```toml\n", md.find("### Complete example"));
    if (at == std::string::npos) return "";
    at += 8;
    return "\n" + md.substr(at, md.find("```", at) - at);
  }
  // Loads `toml`, expects failure, and returns the message.
  std::string Error(const std::string& toml) {
    Status st = Load(toml);
    EXPECT_FALSE(st.ok()) << toml;
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << toml;
    return st.message();
  }

  std::string path_ =
      ::testing::TempDir() + "/parley_config_test_" + std::to_string(::getpid()) + ".toml";
  ServerConfig config_;
};

// Every key, each set to something other than its default.
constexpr const char* kFullFile = R"(
data_dir = "/var/lib/parley"

[server]
listen = "0.0.0.0:7900"
io_threads = 4
worker_threads = 8
max_connections = 5000

[session]
auth_timeout_ms = 5000
idle_timeout_ms = 30000
max_frame_bytes = 32768
max_frame_hard_bytes = 65536
outbox_max_frames = 256
outbox_max_bytes = 1048576
permessage_deflate = false
deflate_server_max_window_bits = 12
deflate_client_max_window_bits = 13
deflate_mem_level = 3
deflate_comp_level = 2
deflate_server_no_context_takeover = true
deflate_client_no_context_takeover = true

[limits]
send_rate_per_conn = 50.5
send_burst_per_conn = 100
send_rate_per_user = 200
send_burst_per_user = 400
auth_rate_per_conn = 0.5
auth_burst_per_conn = 3
typing_rate_per_conn = 0
typing_burst_per_conn = 4
max_errors = 20

[messages]
max_message_bytes = 8192
read_fanout_threshold = 500
max_group_members = 2000
recall_window_s = 300
edit_window_s = 600
dedup_ttl_s = 86400
sync_max_limit = 500
history_max_limit = 100

[storage]
durability = "buffered"
block_cache_mb = 64
write_buffer_mb = 32

[accounts]
password_hash = "min"
)";

TEST_F(ConfigFileTest, FullFileFillsEveryField) {
  ASSERT_TRUE(Load(kFullFile).ok());
  const GatewayConfig& g = config_.gateway;
  const ServiceConfig& s = config_.service;
  EXPECT_EQ(config_.data_dir, "/var/lib/parley");
  EXPECT_EQ(g.listen_host, "0.0.0.0");
  EXPECT_EQ(g.listen_port, 7900);
  EXPECT_EQ(g.io_threads, 4u);
  EXPECT_EQ(g.worker_threads, 8u);
  EXPECT_EQ(g.max_connections, 5000u);
  EXPECT_EQ(g.auth_timeout_ms, 5000);
  EXPECT_EQ(g.idle_timeout_ms, 30000);
  EXPECT_EQ(g.max_frame_bytes, 32768u);
  EXPECT_EQ(g.max_frame_hard_bytes, 65536u);
  EXPECT_EQ(g.outbox_max_frames, 256u);
  EXPECT_EQ(g.outbox_max_bytes, 1048576u);
  EXPECT_FALSE(g.permessage_deflate);
  EXPECT_EQ(g.deflate_server_max_window_bits, 12);
  EXPECT_EQ(g.deflate_client_max_window_bits, 13);
  EXPECT_EQ(g.deflate_mem_level, 3);
  EXPECT_EQ(g.deflate_comp_level, 2);
  EXPECT_TRUE(g.deflate_server_no_context_takeover);
  EXPECT_TRUE(g.deflate_client_no_context_takeover);
  EXPECT_EQ(g.send_rate_per_conn, 50.5);
  EXPECT_EQ(g.send_burst_per_conn, 100);  // integers are accepted for float keys
  EXPECT_EQ(g.send_rate_per_user, 200);
  EXPECT_EQ(g.send_burst_per_user, 400);
  EXPECT_EQ(g.auth_rate_per_conn, 0.5);
  EXPECT_EQ(g.auth_burst_per_conn, 3);
  EXPECT_EQ(g.typing_rate_per_conn, 0);
  EXPECT_EQ(g.typing_burst_per_conn, 4);
  EXPECT_EQ(g.max_errors, 20u);
  EXPECT_EQ(s.max_message_bytes, 8192u);
  EXPECT_EQ(s.read_fanout_threshold, 500u);
  EXPECT_EQ(s.max_group_members, 2000u);
  EXPECT_EQ(s.recall_window_ms, 300'000);
  EXPECT_EQ(s.edit_window_ms, 600'000);
  EXPECT_EQ(s.dedup_ttl_ms, 86'400'000);
  EXPECT_EQ(s.sync_max_limit, 500u);
  EXPECT_EQ(s.history_max_limit, 100u);
  EXPECT_EQ(s.durability, Durability::kBuffered);
  EXPECT_EQ(config_.store.block_cache_bytes, size_t{64} << 20);
  EXPECT_EQ(config_.store.write_buffer_bytes, size_t{32} << 20);
  EXPECT_EQ(s.password_cost, PasswordCost::kMinimum);
}

TEST_F(ConfigFileTest, EmptyFileKeepsTheDefaults) {
  ASSERT_TRUE(Load("# nothing\n[server]\n").ok());
  const ServerConfig defaults;
  EXPECT_EQ(config_.data_dir, defaults.data_dir);
  EXPECT_EQ(config_.gateway.listen_host, "127.0.0.1");
  EXPECT_EQ(config_.gateway.listen_port, 7800);
  EXPECT_EQ(config_.gateway.max_connections, defaults.gateway.max_connections);
  EXPECT_EQ(config_.gateway.send_rate_per_conn, defaults.gateway.send_rate_per_conn);
  EXPECT_EQ(config_.service.durability, Durability::kSync);
  EXPECT_EQ(config_.service.password_cost, PasswordCost::kInteractive);
}

TEST_F(ConfigFileTest, ChoicesTakeEachSpelling) {
  ASSERT_TRUE(Load("[accounts]\npassword_hash = \"interactive\"\n"
                   "[storage]\ndurability = \"sync\"\n")
                  .ok());
  EXPECT_EQ(config_.service.password_cost, PasswordCost::kInteractive);
  EXPECT_EQ(config_.service.durability, Durability::kSync);
  EXPECT_NE(Error("[accounts]\npassword_hash = \"fast\"\n").find("'accounts.password_hash'"),
            std::string::npos);
  EXPECT_NE(Error("[storage]\ndurability = 1\n").find("'storage.durability'"), std::string::npos);
}

TEST_F(ConfigFileTest, SessionKeys) {
  const ServerConfig defaults;
  EXPECT_EQ(defaults.service.token_ttl_ms, 30LL * 86400 * 1000);
  EXPECT_EQ(defaults.gateway.max_sessions_per_user, 64u);
  ASSERT_TRUE(Load("[accounts]\ntoken_ttl_days = 7\n[limits]\nmax_sessions_per_user = 5\n").ok());
  EXPECT_EQ(config_.service.token_ttl_ms, 7LL * 86400 * 1000);
  EXPECT_EQ(config_.gateway.max_sessions_per_user, 5u);
  // Fractional days (tests use seconds); 0 = never expires, 0 sessions = no cap.
  ASSERT_TRUE(Load("[accounts]\ntoken_ttl_days = 0.0001\n").ok());
  EXPECT_EQ(config_.service.token_ttl_ms, 8640);
  ASSERT_TRUE(Load("[accounts]\ntoken_ttl_days = 0\n[limits]\nmax_sessions_per_user = 0\n").ok());
  EXPECT_EQ(config_.service.token_ttl_ms, 0);
  EXPECT_EQ(config_.gateway.max_sessions_per_user, 0u);
  for (const char* bad :
       {"[accounts]\ntoken_ttl_days = -1\n", "[accounts]\ntoken_ttl_days = \"1\"\n",
        "[accounts]\ntoken_ttl_days = 0.000001\n", "[accounts]\ntoken_ttl_days = 40000\n"}) {
    EXPECT_NE(Error(bad).find("'accounts.token_ttl_days'"), std::string::npos) << bad;
  }
  EXPECT_NE(Error("[limits]\nmax_sessions_per_user = -1\n").find("'limits.max_sessions_per_user'"),
            std::string::npos);
}

TEST_F(ConfigFileTest, PostgresEngineNeedsAUrlAndTakesTheStoreSpelling) {
  ASSERT_TRUE(Load("[storage]\nengine = \"postgres\"\nurl = \"postgresql://a@h1:5433,h2:5434/"
                   "parley?target_session_attrs=read-write\"\nschema = \"chat\"\nreaders = 4\n")
                  .ok());
  EXPECT_EQ(config_.engine, ServerConfig::StoreEngine::kPostgres);
  EXPECT_EQ(config_.postgres.url,
            "postgresql://a@h1:5433,h2:5434/parley?target_session_attrs=read-write");
  EXPECT_EQ(config_.postgres.schema, "chat");
  EXPECT_EQ(config_.postgres.readers, 4u);
  config_ = ServerConfig();
  ASSERT_TRUE(Load("[store]\nengine = \"postgres\"\nurl = \"postgresql://h/p\"\n").ok());
  EXPECT_EQ(config_.engine, ServerConfig::StoreEngine::kPostgres);
  config_ = ServerConfig();  // the refusals below start from the defaults
  EXPECT_NE(Error("[storage]\nengine = \"postgres\"\n").find("'storage.url' is required"),
            std::string::npos);
  EXPECT_NE(Error("[storage]\nurl = \"postgresql://h/p\"\n").find("needs engine"),
            std::string::npos);
  EXPECT_NE(Error("[storage]\nengine = \"mysql\"\n").find("'storage.engine'"), std::string::npos);
  EXPECT_NE(Error("[storage]\nschema = \"\"\n").find("'storage.schema'"), std::string::npos);
  EXPECT_NE(
      Error("[storage]\ndurability = \"sync\"\n[store]\nengine = \"rocksdb\"\n").find("use one"),
      std::string::npos);
}

TEST_F(ConfigFileTest, UnknownKeysAreNamed) {
  EXPECT_NE(Error("datadir = \"x\"\n").find("'datadir'"), std::string::npos);
  EXPECT_NE(Error("[sever]\n").find("'sever'"), std::string::npos);
  EXPECT_NE(Error("[server]\nlisten_port = 1\n").find("'server.listen_port'"), std::string::npos);
  EXPECT_NE(Error("[session]\nmax_frame = 1\n").find("'session.max_frame'"), std::string::npos);
  EXPECT_NE(Error("[limits]\nsend_rate = 1\n").find("'limits.send_rate'"), std::string::npos);
  EXPECT_NE(Error("[messages]\nmax_bytes = 1\n").find("'messages.max_bytes'"), std::string::npos);
  EXPECT_NE(Error("[storage]\ncache_mb = 1\n").find("'storage.cache_mb'"), std::string::npos);
  EXPECT_NE(Error("[accounts]\nhash = 1\n").find("'accounts.hash'"), std::string::npos);
}

TEST_F(ConfigFileTest, WrongTypesAreNamed) {
  struct Case {
    const char* toml;
    const char* key;
  };
  const Case cases[] = {
      {"data_dir = 5\n", "'data_dir'"},
      {"data_dir = \"\"\n", "'data_dir'"},
      {"server = 5\n", "'server'"},
      {"limits = \"none\"\n", "'limits'"},
      {"[server]\nio_threads = \"4\"\n", "'server.io_threads'"},
      {"[server]\nmax_connections = true\n", "'server.max_connections'"},  // not 1
      {"[server]\nlisten = 7800\n", "'server.listen'"},
      {"[session]\nmax_frame_bytes = 65536.0\n", "'session.max_frame_bytes'"},  // not 65536
      {"[session]\npermessage_deflate = 1\n", "'session.permessage_deflate'"},
      {"[session]\npermessage_deflate = \"yes\"\n", "'session.permessage_deflate'"},
      {"[limits]\nsend_rate_per_conn = \"fast\"\n", "'limits.send_rate_per_conn'"},
      {"[limits]\nsend_rate_per_conn = true\n", "'limits.send_rate_per_conn'"},
      {"[limits]\nmax_errors = 2.5\n", "'limits.max_errors'"},
      {"[messages]\nrecall_window_s = [1]\n", "'messages.recall_window_s'"},
      {"[messages]\nedit_window_s = \"1d\"\n", "'messages.edit_window_s'"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(Error(c.toml).find(c.key), std::string::npos) << c.toml;
  }
}

TEST_F(ConfigFileTest, OutOfRangeValuesAreNamed) {
  struct Case {
    const char* toml;
    const char* key;
  };
  const Case cases[] = {
      {"[server]\nio_threads = 1000\n", "'server.io_threads'"},
      {"[server]\nmax_connections = 0\n", "'server.max_connections'"},
      {"[session]\nauth_timeout_ms = 5\n", "'session.auth_timeout_ms'"},
      {"[session]\nidle_timeout_ms = -1\n", "'session.idle_timeout_ms'"},
      {"[session]\noutbox_max_frames = 0\n", "'session.outbox_max_frames'"},
      // Beast throws on windows below 9 bits; zlib knows no memLevel 0 or level 10.
      {"[session]\ndeflate_server_max_window_bits = 8\n",
       "'session.deflate_server_max_window_bits'"},
      {"[session]\ndeflate_client_max_window_bits = 16\n",
       "'session.deflate_client_max_window_bits'"},
      {"[session]\ndeflate_mem_level = 0\n", "'session.deflate_mem_level'"},
      {"[session]\ndeflate_comp_level = 10\n", "'session.deflate_comp_level'"},
      {"[limits]\nsend_rate_per_conn = -1\n", "'limits.send_rate_per_conn'"},
      {"[limits]\nsend_burst_per_conn = 0.5\n", "'limits.send_burst_per_conn'"},
      {"[limits]\nsend_rate_per_user = nan\n", "'limits.send_rate_per_user'"},
      {"[limits]\nauth_rate_per_conn = inf\n", "'limits.auth_rate_per_conn'"},
      {"[limits]\nmax_errors = 0\n", "'limits.max_errors'"},
      {"[messages]\ndedup_ttl_s = 1\n", "'messages.dedup_ttl_s'"},
      {"[messages]\nedit_window_s = -1\n", "'messages.edit_window_s'"},
      {"[storage]\nblock_cache_mb = 1\n", "'storage.block_cache_mb'"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(Error(c.toml).find(c.key), std::string::npos) << c.toml;
  }
  // The message gives the allowed range.
  EXPECT_NE(Error("[limits]\nsend_burst_per_conn = 0\n").find("[1, 1000000000]"),
            std::string::npos);
}

TEST_F(ConfigFileTest, PerUserLimitsAndTheSendWaitAreRead) {
  const GatewayConfig defaults;
  EXPECT_EQ(defaults.send_max_wait_ms, 2000);
  EXPECT_EQ(defaults.typing_rate_per_user, 5);
  EXPECT_EQ(defaults.typing_rate_per_conv, 1);
  EXPECT_EQ(defaults.membership_rate_per_user, 10);
  EXPECT_EQ(defaults.membership_burst_per_user, 1000);
  ASSERT_TRUE(Load("[limits]\nsend_max_wait_ms = 250\n"
                   "typing_rate_per_user = 2\ntyping_burst_per_user = 4\n"
                   "typing_rate_per_conv = 0.5\ntyping_burst_per_conv = 2\n"
                   "membership_rate_per_user = 0\nmembership_burst_per_user = 50\n")
                  .ok());
  const GatewayConfig& g = config_.gateway;
  EXPECT_EQ(g.send_max_wait_ms, 250);
  EXPECT_EQ(g.typing_rate_per_user, 2);
  EXPECT_EQ(g.typing_burst_per_user, 4);
  EXPECT_EQ(g.typing_rate_per_conv, 0.5);
  EXPECT_EQ(g.typing_burst_per_conv, 2);
  EXPECT_EQ(g.membership_rate_per_user, 0);  // 0: no limit
  EXPECT_EQ(g.membership_burst_per_user, 50);
  EXPECT_NE(Error("[limits]\nsend_max_wait_ms = -1\n").find("'limits.send_max_wait_ms'"),
            std::string::npos);
  EXPECT_NE(Error("[limits]\nsend_max_wait_ms = 1.5\n").find("'limits.send_max_wait_ms'"),
            std::string::npos);
  EXPECT_NE(Error("[limits]\ntyping_burst_per_conv = 0\n").find("'limits.typing_burst_per_conv'"),
            std::string::npos);
  EXPECT_NE(
      Error("[limits]\nmembership_rate_per_user = -2\n").find("'limits.membership_rate_per_user'"),
      std::string::npos);
}

TEST_F(ConfigFileTest, BadListenIsNamed) {
  for (const char* v : {"7800", "localhost", ":7800", "host:", "host:65536", "host:0", "host:+80",
                        "host:8o", "1.2.3:80", "256.1.1.1:80", "bad host:80", "-lead.example:80",
                        "a..b:80", "::1:80", "[::1:80", "[zz]:80"}) {
    std::string msg = Error(std::string("[server]\nlisten = \"") + v + "\"\n");
    EXPECT_NE(msg.find("'server.listen'"), std::string::npos) << v << ": " << msg;
  }
}

TEST_F(ConfigFileTest, HardFrameLimitBelowSoftIsRefused) {
  std::string msg = Error("[session]\nmax_frame_bytes = 65536\nmax_frame_hard_bytes = 4096\n");
  EXPECT_NE(msg.find("'session.max_frame_hard_bytes'"), std::string::npos) << msg;
  // Also when only the soft limit is raised past the default hard limit (1 MiB).
  msg = Error("[session]\nmax_frame_bytes = 2097152\n");
  EXPECT_NE(msg.find("'session.max_frame_hard_bytes'"), std::string::npos) << msg;
  EXPECT_TRUE(Load("[session]\nmax_frame_bytes = 4096\nmax_frame_hard_bytes = 4096\n").ok());
}

TEST_F(ConfigFileTest, FailureLeavesTheConfigUnchanged) {
  EXPECT_FALSE(Load("data_dir = \"/elsewhere\"\n[server]\nio_threads = 999\n").ok());
  EXPECT_EQ(config_.data_dir, "./data");
  EXPECT_EQ(config_.gateway.io_threads, 0u);
}

TEST_F(ConfigFileTest, SyntaxErrorsGiveTheLine) {
  std::string msg = Error("[server]\nio_threads = = 3\n");
  EXPECT_NE(msg.find(path_ + ":2:"), std::string::npos) << msg;
  Status st = LoadConfigFile(path_ + ".missing", &config_);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
}

TEST_F(ConfigFileTest, LoweredPageMaximumsLowerTheDefaults) {
  ASSERT_TRUE(Load("[messages]\nsync_max_limit = 10\nhistory_max_limit = 5\n").ok());
  EXPECT_EQ(config_.service.sync_default_limit, 10u);
  EXPECT_EQ(config_.service.history_default_limit, 5u);
}

// docs/operations.md's "Complete example" lists every key at its default. Loading it must
// work and change nothing, so the documented defaults cannot drift from the structs.
TEST_F(ConfigFileTest, DocumentedExampleIsValidAndAllDefaults) {
  const std::string example = DocumentedExample();
  ASSERT_FALSE(example.empty()) << PARLEY_OPERATIONS_MD;
  // Every key the loader knows appears in the example.
  for (const char* key : {"data_dir",
                          "listen",
                          "io_threads",
                          "worker_threads",
                          "max_connections",
                          "auth_timeout_ms",
                          "idle_timeout_ms",
                          "max_frame_bytes",
                          "max_frame_hard_bytes",
                          "outbox_max_frames",
                          "outbox_max_bytes",
                          "permessage_deflate",
                          "deflate_server_max_window_bits",
                          "deflate_client_max_window_bits",
                          "deflate_mem_level",
                          "deflate_comp_level",
                          "deflate_server_no_context_takeover",
                          "deflate_client_no_context_takeover",
                          "send_rate_per_conn",
                          "send_burst_per_conn",
                          "send_rate_per_user",
                          "send_burst_per_user",
                          "auth_rate_per_conn",
                          "auth_burst_per_conn",
                          "typing_rate_per_conn",
                          "typing_burst_per_conn",
                          "send_max_wait_ms",
                          "typing_rate_per_user",
                          "typing_burst_per_user",
                          "typing_rate_per_conv",
                          "typing_burst_per_conv",
                          "membership_rate_per_user",
                          "membership_burst_per_user",
                          "search_rate_per_conn",
                          "search_burst_per_conn",
                          "max_errors",
                          "max_sessions_per_user",
                          "token_ttl_days",
                          "max_message_bytes",
                          "read_fanout_threshold",
                          "max_group_members",
                          "recall_window_s",
                          "edit_window_s",
                          "dedup_ttl_s",
                          "sync_max_limit",
                          "history_max_limit",
                          "durability",
                          "block_cache_mb",
                          "write_buffer_mb",
                          "engine",
                          "schema",
                          "readers",
                          "max_queued_writes",
                          "password_hash",
                          "enabled",
                          "batch_changes",
                          "idle_poll_ms",
                          "default_limit",
                          "max_limit",
                          "target",
                          "key_file",
                          "zstd_level",
                          "incremental_every_s",
                          "full_every_s",
                          "keep_last",
                          "keep_days",
                          "token"}) {
    EXPECT_NE(example.find(std::string("\n") + key + " = "), std::string::npos) << key;
  }
  // Start from values unlike every default, so that each key must set its field.
  ServerConfig odd;
  GatewayConfig& g = odd.gateway;
  ServiceConfig& s = odd.service;
  odd.data_dir = "x";
  g.listen_host = "x";
  g.listen_port = 1;
  g.io_threads = g.worker_threads = g.max_connections = 3;
  g.auth_timeout_ms = g.idle_timeout_ms = 3;
  g.max_frame_bytes = g.max_frame_hard_bytes = g.outbox_max_frames = g.outbox_max_bytes = 3;
  g.permessage_deflate = !g.permessage_deflate;
  g.deflate_server_max_window_bits = g.deflate_client_max_window_bits = 14;
  g.deflate_mem_level = g.deflate_comp_level = 7;
  g.deflate_server_no_context_takeover = !g.deflate_server_no_context_takeover;
  g.deflate_client_no_context_takeover = !g.deflate_client_no_context_takeover;
  g.send_rate_per_conn = g.send_burst_per_conn = g.send_rate_per_user = g.send_burst_per_user = 3;
  g.auth_rate_per_conn = g.auth_burst_per_conn = g.typing_rate_per_conn = 3;
  g.typing_burst_per_conn = g.search_rate_per_conn = g.search_burst_per_conn = 3;
  g.max_errors = 3;
  g.send_max_wait_ms = 3;
  g.typing_rate_per_user = g.typing_burst_per_user = g.typing_rate_per_conv = 3;
  g.typing_burst_per_conv = g.membership_rate_per_user = g.membership_burst_per_user = 3;
  g.max_sessions_per_user = 3;
  s.token_ttl_ms = 3000;
  s.max_message_bytes = s.read_fanout_threshold = s.max_group_members = 3;
  s.recall_window_ms = s.edit_window_ms = s.dedup_ttl_ms = 3000;
  s.sync_max_limit = s.history_max_limit = 300;  // above the default page sizes
  s.durability = Durability::kBuffered;
  s.password_cost = PasswordCost::kMinimum;
  odd.store.block_cache_bytes = odd.store.write_buffer_bytes = size_t{3} << 20;
  odd.postgres.schema = "x";
  odd.postgres.readers = 3;
  s.max_queued_writes = 3;
  odd.search.enabled = !odd.search.enabled;
  odd.search.batch_changes = odd.search.default_limit = odd.search.max_limit = 3;
  odd.search.idle_poll_ms = 33;
  odd.backup.target = odd.backup.key_file = "x";
  odd.admin_token = "0123456789abcdefX";
  odd.backup.zstd_level = 9;
  odd.backup.incremental_every_s = odd.backup.full_every_s = 3;
  odd.backup.keep_last = 3;
  odd.backup.keep_days = 3;
  config_ = odd;
  ASSERT_TRUE(Load(example).ok()) << example;

  const ServerConfig d;
  const GatewayConfig& dg = d.gateway;
  const ServiceConfig& ds = d.service;
  EXPECT_EQ(config_.data_dir, d.data_dir);
  EXPECT_EQ(config_.search.enabled, d.search.enabled);
  EXPECT_EQ(config_.backup.target, d.backup.target);
  EXPECT_EQ(config_.backup.key_file, d.backup.key_file);
  EXPECT_EQ(config_.backup.zstd_level, d.backup.zstd_level);
  EXPECT_EQ(config_.backup.incremental_every_s, d.backup.incremental_every_s);
  EXPECT_EQ(config_.backup.full_every_s, d.backup.full_every_s);
  EXPECT_EQ(config_.backup.keep_last, d.backup.keep_last);
  EXPECT_EQ(config_.backup.keep_days, d.backup.keep_days);
  EXPECT_EQ(config_.admin_token, d.admin_token);
  EXPECT_EQ(config_.search.batch_changes, d.search.batch_changes);
  EXPECT_EQ(config_.search.idle_poll_ms, d.search.idle_poll_ms);
  EXPECT_EQ(config_.search.default_limit, d.search.default_limit);
  EXPECT_EQ(config_.search.max_limit, d.search.max_limit);
  EXPECT_EQ(config_.gateway.listen_host, dg.listen_host);
  EXPECT_EQ(config_.gateway.listen_port, dg.listen_port);
  EXPECT_EQ(config_.gateway.io_threads, dg.io_threads);
  EXPECT_EQ(config_.gateway.worker_threads, dg.worker_threads);
  EXPECT_EQ(config_.gateway.max_connections, dg.max_connections);
  EXPECT_EQ(config_.gateway.auth_timeout_ms, dg.auth_timeout_ms);
  EXPECT_EQ(config_.gateway.idle_timeout_ms, dg.idle_timeout_ms);
  EXPECT_EQ(config_.gateway.max_frame_bytes, dg.max_frame_bytes);
  EXPECT_EQ(config_.gateway.max_frame_hard_bytes, dg.max_frame_hard_bytes);
  EXPECT_EQ(config_.gateway.outbox_max_frames, dg.outbox_max_frames);
  EXPECT_EQ(config_.gateway.outbox_max_bytes, dg.outbox_max_bytes);
  EXPECT_EQ(config_.gateway.permessage_deflate, dg.permessage_deflate);
  EXPECT_EQ(config_.gateway.deflate_server_max_window_bits, dg.deflate_server_max_window_bits);
  EXPECT_EQ(config_.gateway.deflate_client_max_window_bits, dg.deflate_client_max_window_bits);
  EXPECT_EQ(config_.gateway.deflate_mem_level, dg.deflate_mem_level);
  EXPECT_EQ(config_.gateway.deflate_comp_level, dg.deflate_comp_level);
  EXPECT_EQ(config_.gateway.deflate_server_no_context_takeover,
            dg.deflate_server_no_context_takeover);
  EXPECT_EQ(config_.gateway.deflate_client_no_context_takeover,
            dg.deflate_client_no_context_takeover);
  EXPECT_EQ(config_.gateway.max_sessions_per_user, dg.max_sessions_per_user);
  EXPECT_EQ(config_.service.token_ttl_ms, ds.token_ttl_ms);
  EXPECT_EQ(config_.gateway.send_rate_per_conn, dg.send_rate_per_conn);
  EXPECT_EQ(config_.gateway.send_burst_per_conn, dg.send_burst_per_conn);
  EXPECT_EQ(config_.gateway.send_rate_per_user, dg.send_rate_per_user);
  EXPECT_EQ(config_.gateway.send_burst_per_user, dg.send_burst_per_user);
  EXPECT_EQ(config_.gateway.auth_rate_per_conn, dg.auth_rate_per_conn);
  EXPECT_EQ(config_.gateway.auth_burst_per_conn, dg.auth_burst_per_conn);
  EXPECT_EQ(config_.gateway.typing_rate_per_conn, dg.typing_rate_per_conn);
  EXPECT_EQ(config_.gateway.typing_burst_per_conn, dg.typing_burst_per_conn);
  EXPECT_EQ(config_.gateway.search_rate_per_conn, dg.search_rate_per_conn);
  EXPECT_EQ(config_.gateway.search_burst_per_conn, dg.search_burst_per_conn);
  EXPECT_EQ(config_.gateway.max_errors, dg.max_errors);
  EXPECT_EQ(config_.gateway.send_max_wait_ms, dg.send_max_wait_ms);
  EXPECT_EQ(config_.gateway.typing_rate_per_user, dg.typing_rate_per_user);
  EXPECT_EQ(config_.gateway.typing_burst_per_user, dg.typing_burst_per_user);
  EXPECT_EQ(config_.gateway.typing_rate_per_conv, dg.typing_rate_per_conv);
  EXPECT_EQ(config_.gateway.typing_burst_per_conv, dg.typing_burst_per_conv);
  EXPECT_EQ(config_.gateway.membership_rate_per_user, dg.membership_rate_per_user);
  EXPECT_EQ(config_.gateway.membership_burst_per_user, dg.membership_burst_per_user);
  EXPECT_EQ(config_.service.max_message_bytes, ds.max_message_bytes);
  EXPECT_EQ(config_.service.read_fanout_threshold, ds.read_fanout_threshold);
  EXPECT_EQ(config_.service.max_group_members, ds.max_group_members);
  EXPECT_EQ(config_.service.recall_window_ms, ds.recall_window_ms);
  EXPECT_EQ(config_.service.edit_window_ms, ds.edit_window_ms);
  EXPECT_EQ(config_.service.dedup_ttl_ms, ds.dedup_ttl_ms);
  EXPECT_EQ(config_.service.sync_max_limit, ds.sync_max_limit);
  EXPECT_EQ(config_.service.history_max_limit, ds.history_max_limit);
  EXPECT_EQ(config_.service.durability, ds.durability);
  EXPECT_EQ(config_.service.password_cost, ds.password_cost);
  EXPECT_EQ(config_.store.block_cache_bytes, d.store.block_cache_bytes);
  EXPECT_EQ(config_.store.write_buffer_bytes, d.store.write_buffer_bytes);
  EXPECT_EQ(config_.postgres.schema, d.postgres.schema);
  EXPECT_EQ(config_.postgres.readers, d.postgres.readers);
  EXPECT_EQ(config_.service.max_queued_writes, ds.max_queued_writes);
  EXPECT_EQ(config_.engine, d.engine);
}

// The bound of the sequencer's queue (docs/faults.md "Slow fsync").
TEST_F(ConfigFileTest, MaxQueuedWrites) {
  ASSERT_TRUE(Load("[storage]\nmax_queued_writes = 500\n").ok());
  EXPECT_EQ(config_.service.max_queued_writes, 500u);
  EXPECT_NE(Error("[storage]\nmax_queued_writes = 0\n").find("'storage.max_queued_writes'"),
            std::string::npos);
}

// The transport keys (issue 10 items 4, 6, 11): loaded, checked, and in the documented
// example at their defaults.
TEST_F(ConfigFileTest, TransportKeys) {
  ASSERT_TRUE(Load(R"(
[server]
allowed_origins = ["https://chat.example.com", "*"]
http_idle_timeout_ms = 2000
http_max_requests_per_conn = 7
shutdown_grace_ms = 1500
[session]
max_frame_bytes_before_auth = 4096
[limits]
max_connections_per_ip = 0
handshake_rate_per_ip = 2.5
handshake_burst_per_ip = 9
[tls]
cert_file = "/etc/parley/cert.pem"
key_file = "/etc/parley/key.pem"
[admin]
listen = "127.0.0.1:7801"
)")
                  .ok());
  const GatewayConfig& g = config_.gateway;
  EXPECT_EQ(g.allowed_origins, (std::vector<std::string>{"https://chat.example.com", "*"}));
  EXPECT_EQ(g.http_idle_timeout_ms, 2000);
  EXPECT_EQ(g.http_max_requests_per_conn, 7u);
  EXPECT_EQ(g.shutdown_grace_ms, 1500);
  EXPECT_EQ(g.max_frame_bytes_before_auth, 4096u);
  EXPECT_EQ(g.max_connections_per_ip, 0u);
  EXPECT_EQ(g.handshake_rate_per_ip, 2.5);
  EXPECT_EQ(g.handshake_burst_per_ip, 9);
  EXPECT_EQ(g.tls_cert_file, "/etc/parley/cert.pem");
  EXPECT_EQ(g.tls_key_file, "/etc/parley/key.pem");
  EXPECT_EQ(g.admin_listen_host, "127.0.0.1");
  EXPECT_EQ(g.admin_listen_port, 7801);

  config_ = ServerConfig();
  EXPECT_NE(Error("[server]\nallowed_origins = \"*\"\n").find("server.allowed_origins"),
            std::string::npos);
  EXPECT_NE(Error("[server]\nallowed_origins = [1]\n").find("server.allowed_origins"),
            std::string::npos);
  EXPECT_NE(Error("[tls]\ncert_file = \"c.pem\"\n").find("tls.key_file"), std::string::npos);
  EXPECT_NE(Error("[tls]\nkey = \"k.pem\"\n").find("tls.key"), std::string::npos);
  EXPECT_NE(Error("[admin]\nlisten = \"127.0.0.1:0\"\n").find("admin.listen"), std::string::npos);
  EXPECT_NE(Error("[session]\nmax_frame_bytes_before_auth = 100\n")
                .find("session.max_frame_bytes_before_auth"),
            std::string::npos);
  EXPECT_NE(Error("[limits]\nhandshake_burst_per_ip = 0\n").find("limits.handshake_burst_per_ip"),
            std::string::npos);

  const std::string example = DocumentedExample();
  ASSERT_FALSE(example.empty()) << PARLEY_OPERATIONS_MD;
  for (const char* key :
       {"allowed_origins", "http_idle_timeout_ms", "http_max_requests_per_conn",
        "shutdown_grace_ms", "max_frame_bytes_before_auth", "max_connections_per_ip",
        "handshake_rate_per_ip", "handshake_burst_per_ip", "cert_file", "key_file"}) {
    EXPECT_NE(example.find(std::string("\n") + key + " = "), std::string::npos) << key;
  }
  config_ = ServerConfig();
  ASSERT_TRUE(Load(example).ok());
  const GatewayConfig d;
  EXPECT_EQ(config_.gateway.allowed_origins, d.allowed_origins);
  EXPECT_EQ(config_.gateway.http_idle_timeout_ms, d.http_idle_timeout_ms);
  EXPECT_EQ(config_.gateway.http_max_requests_per_conn, d.http_max_requests_per_conn);
  EXPECT_EQ(config_.gateway.shutdown_grace_ms, d.shutdown_grace_ms);
  EXPECT_EQ(config_.gateway.max_frame_bytes_before_auth, d.max_frame_bytes_before_auth);
  EXPECT_EQ(config_.gateway.max_connections_per_ip, d.max_connections_per_ip);
  EXPECT_EQ(config_.gateway.handshake_rate_per_ip, d.handshake_rate_per_ip);
  EXPECT_EQ(config_.gateway.handshake_burst_per_ip, d.handshake_burst_per_ip);
  EXPECT_EQ(config_.gateway.tls_cert_file, d.tls_cert_file);
  EXPECT_EQ(config_.gateway.admin_listen_port, d.admin_listen_port);
}

TEST(ParseListen, AcceptsHostsAndPorts) {
  struct Case {
    const char* in;
    const char* host;
    uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:7800", "127.0.0.1", 7800},
      {"0.0.0.0:1", "0.0.0.0", 1},
      {"localhost:65535", "localhost", 65535},
      {"chat-1.example.com:443", "chat-1.example.com", 443},
      {"[::1]:7800", "::1", 7800},
      {"[::]:80", "::", 80},
      {"127.0.0.1:0", "127.0.0.1", 0},  // any free port: what tests pass with --port-file
  };
  for (const Case& c : cases) {
    std::string host = "unchanged";
    uint16_t port = 1;
    ASSERT_TRUE(ParseListen(c.in, &host, &port).ok()) << c.in;
    EXPECT_EQ(host, c.host);
    EXPECT_EQ(port, c.port);
  }
}

// The keys of the login, lookup and registration limits and of password hashing.
TEST_F(ConfigFileTest, AuthAbuseKeysFillTheirFields) {
  ASSERT_TRUE(Load("[limits]\nlogin_failures_per_account = 3\nlogin_failures_per_ip = 0\n"
                   "login_backoff_initial_ms = 250\nlogin_backoff_max_account_ms = 9000\n"
                   "login_backoff_max_ip_ms = 90000\nusers_rate_per_conn = 7.5\n"
                   "users_burst_per_conn = 70\nusers_rate_per_user = 8\n"
                   "users_burst_per_user = 80\nregister_rate_per_ip = 0\n"
                   "register_burst_per_ip = 5\n"
                   "[accounts]\nregistration = \"invite\"\nhash_threads = 3\nhash_queue = 9\n")
                  .ok());
  const GatewayConfig& g = config_.gateway;
  EXPECT_EQ(g.login_failures_per_account, 3u);
  EXPECT_EQ(g.login_failures_per_ip, 0u);
  EXPECT_EQ(g.login_backoff_initial_ms, 250);
  EXPECT_EQ(g.login_backoff_max_account_ms, 9000);
  EXPECT_EQ(g.login_backoff_max_ip_ms, 90000);
  EXPECT_EQ(g.users_rate_per_conn, 7.5);
  EXPECT_EQ(g.users_burst_per_conn, 70);
  EXPECT_EQ(g.users_rate_per_user, 8);
  EXPECT_EQ(g.users_burst_per_user, 80);
  EXPECT_EQ(g.register_rate_per_ip, 0);
  EXPECT_EQ(g.register_burst_per_ip, 5);
  EXPECT_EQ(g.hash_threads, 3u);
  EXPECT_EQ(g.hash_queue, 9u);
  EXPECT_EQ(config_.service.registration, RegistrationPolicy::kInvite);
  ASSERT_TRUE(Load("[accounts]\nregistration = \"closed\"\n").ok());
  EXPECT_EQ(config_.service.registration, RegistrationPolicy::kClosed);
  ASSERT_TRUE(Load("[accounts]\nregistration = \"open\"\n").ok());
  EXPECT_EQ(config_.service.registration, RegistrationPolicy::kOpen);

  EXPECT_NE(Error("[accounts]\nregistration = \"invites\"\n").find("'accounts.registration'"),
            std::string::npos);
  EXPECT_NE(Error("[accounts]\nhash_queue = 0\n").find("'accounts.hash_queue'"), std::string::npos);
  EXPECT_NE(Error("[limits]\nlogin_backoff_initial_ms = 0\n").find("login_backoff_initial_ms"),
            std::string::npos);
  EXPECT_NE(Error("[limits]\nusers_burst_per_conn = 0.5\n").find("'limits.users_burst_per_conn'"),
            std::string::npos);
  EXPECT_NE(Error("[limits]\nlogin_failures_per_ip = -1\n").find("login_failures_per_ip"),
            std::string::npos);
}

// docs/operations.md's complete example lists these keys too, at their defaults.
TEST_F(ConfigFileTest, DocumentedExampleHasTheAuthAbuseKeysAtTheirDefaults) {
  const std::string example = DocumentedExample();
  ASSERT_FALSE(example.empty()) << PARLEY_OPERATIONS_MD;
  for (const char* key : {"login_failures_per_account", "login_failures_per_ip",
                          "login_backoff_initial_ms", "login_backoff_max_account_ms",
                          "login_backoff_max_ip_ms", "users_rate_per_conn", "users_burst_per_conn",
                          "users_rate_per_user", "users_burst_per_user", "register_rate_per_ip",
                          "register_burst_per_ip", "registration", "hash_threads", "hash_queue"}) {
    EXPECT_NE(example.find(std::string("\n") + key + " = "), std::string::npos) << key;
  }
  ServerConfig odd;
  odd.gateway.login_failures_per_account = odd.gateway.login_failures_per_ip = 3;
  odd.gateway.login_backoff_initial_ms = odd.gateway.login_backoff_max_account_ms = 3;
  odd.gateway.login_backoff_max_ip_ms = 3;
  odd.gateway.users_rate_per_conn = odd.gateway.users_burst_per_conn = 3;
  odd.gateway.users_rate_per_user = odd.gateway.users_burst_per_user = 3;
  odd.gateway.register_rate_per_ip = odd.gateway.register_burst_per_ip = 3;
  odd.gateway.hash_threads = odd.gateway.hash_queue = 3;
  odd.service.registration = RegistrationPolicy::kClosed;
  config_ = odd;
  ASSERT_TRUE(Load(example).ok()) << example;
  const ServerConfig d;
  const GatewayConfig& g = config_.gateway;
  EXPECT_EQ(g.login_failures_per_account, d.gateway.login_failures_per_account);
  EXPECT_EQ(g.login_failures_per_ip, d.gateway.login_failures_per_ip);
  EXPECT_EQ(g.login_backoff_initial_ms, d.gateway.login_backoff_initial_ms);
  EXPECT_EQ(g.login_backoff_max_account_ms, d.gateway.login_backoff_max_account_ms);
  EXPECT_EQ(g.login_backoff_max_ip_ms, d.gateway.login_backoff_max_ip_ms);
  EXPECT_EQ(g.users_rate_per_conn, d.gateway.users_rate_per_conn);
  EXPECT_EQ(g.users_burst_per_conn, d.gateway.users_burst_per_conn);
  EXPECT_EQ(g.users_rate_per_user, d.gateway.users_rate_per_user);
  EXPECT_EQ(g.users_burst_per_user, d.gateway.users_burst_per_user);
  EXPECT_EQ(g.register_rate_per_ip, d.gateway.register_rate_per_ip);
  EXPECT_EQ(g.register_burst_per_ip, d.gateway.register_burst_per_ip);
  EXPECT_EQ(g.hash_threads, d.gateway.hash_threads);
  EXPECT_EQ(g.hash_queue, d.gateway.hash_queue);
  EXPECT_EQ(config_.service.registration, d.service.registration);
}

TEST_F(ConfigFileTest, ClusterKeys) {
  EXPECT_FALSE(config_.cluster.redis_enabled());  // default: single-node mode
  EXPECT_EQ(config_.cluster.node, "");            // default: the host name, chosen at start
  ASSERT_TRUE(Load("[cluster]\nnode = \"n1\"\nredis = \"127.0.0.1:6380\"\n").ok());
  EXPECT_EQ(config_.cluster.node, "n1");
  EXPECT_TRUE(config_.cluster.redis_enabled());
  EXPECT_EQ(config_.cluster.redis_host, "127.0.0.1");
  EXPECT_EQ(config_.cluster.redis_port, 6380);
  // An empty string turns Redis off again (an override file over a cluster one).
  ASSERT_TRUE(Load("[cluster]\nredis = \"\"\n").ok());
  EXPECT_FALSE(config_.cluster.redis_enabled());
  EXPECT_EQ(config_.cluster.node, "n1");  // absent keys keep their values
}

TEST_F(ConfigFileTest, ClusterMistakesNameTheKey) {
  EXPECT_NE(Error("[cluster]\nredis = \"localhost\"\n").find("cluster.redis"), std::string::npos);
  EXPECT_NE(Error("[cluster]\nredis = \"127.0.0.1:0\"\n").find("cluster.redis"), std::string::npos);
  EXPECT_NE(Error("[cluster]\nredis = 6379\n").find("cluster.redis"), std::string::npos);
  EXPECT_NE(Error("[cluster]\nnode = 1\n").find("cluster.node"), std::string::npos);
  EXPECT_NE(Error("[cluster]\nnode = \"" + std::string(300, 'n') + "\"\n").find("cluster.node"),
            std::string::npos);
  EXPECT_NE(Error("[cluster]\nredis_url = \"x\"\n").find("cluster.redis_url"), std::string::npos);
  EXPECT_NE(Error("cluster = 1\n").find("'cluster'"), std::string::npos);
}

TEST_F(ConfigFileTest, S3KeysReachTheBackupTarget) {
  ASSERT_TRUE(Load("[backup]\ntarget = \"s3://b1/backups\"\n[s3]\nendpoint = "
                   "\"http://127.0.0.1:9000\"\nregion = \"eu-1\"\naccess_key = \"AK\"\n"
                   "secret_key_file = \"/etc/parley/s3.secret\"\npath_style = false\n")
                  .ok());
  EXPECT_EQ(config_.s3.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(config_.backup.s3.region, "eu-1");
  EXPECT_EQ(config_.backup.s3.credentials.access_key, "AK");
  EXPECT_EQ(config_.backup.s3.secret_key_file, "/etc/parley/s3.secret");
  EXPECT_FALSE(config_.backup.s3.path_style);
}

TEST_F(ConfigFileTest, S3MistakesNameTheKey) {
  EXPECT_NE(Error("[backup]\ntarget = \"s3://b1/x\"\n").find("[s3] endpoint"), std::string::npos);
  EXPECT_NE(Error("[s3]\nendpoint = \"ftp://x\"\n").find("s3.endpoint"), std::string::npos);
  EXPECT_NE(Error("[s3]\nsecret_key = \"x\"\n").find("s3.secret_key"), std::string::npos);
  EXPECT_NE(Error("[s3]\npath_style = \"yes\"\n").find("s3.path_style"), std::string::npos);
}

TEST_F(ConfigFileTest, AttachmentKeysFillTheirFields) {
  ASSERT_TRUE(Load("[attachments]\nenabled = false\nstore = \"s3://files/p\"\ndir = \"/srv/f\"\n"
                   "max_file_mb = 20\npart_mb = 6\nquota_mb = 0\nupload_ttl_hours = 2\n"
                   "retention_days = 7\npresign_ttl_s = 60\nmax_image_pixels = 1000\n"
                   "max_image_mb = 3\nthumbnail_timeout_ms = 900\ncollect_every_s = 10\n"
                   "threads = 3\n[s3]\nendpoint = \"http://127.0.0.1:9000\"\n")
                  .ok());
  const files::FilesConfig& f = config_.attachments;
  EXPECT_FALSE(f.enabled);
  EXPECT_EQ(f.store, "s3://files/p");
  EXPECT_EQ(f.dir, "/srv/f");
  EXPECT_EQ(f.max_file_bytes, 20u << 20);
  EXPECT_EQ(f.part_bytes, 6u << 20);
  EXPECT_EQ(f.quota_bytes, 0u);
  EXPECT_EQ(f.upload_ttl_ms, 2 * 3600 * 1000);
  EXPECT_EQ(f.retention_ms, 7LL * 86400 * 1000);
  EXPECT_EQ(f.presign_ttl_s, 60);
  EXPECT_EQ(f.max_image_pixels, 1000u);
  EXPECT_EQ(f.max_image_bytes, 3u << 20);
  EXPECT_EQ(f.thumbnail_timeout_ms, 900);
  EXPECT_EQ(f.collect_every_ms, 10000);
  EXPECT_EQ(f.threads, 3u);
  EXPECT_EQ(f.s3.endpoint, "http://127.0.0.1:9000");  // the [s3] table reaches it
}

TEST_F(ConfigFileTest, AttachmentMistakesNameTheKey) {
  EXPECT_NE(Error("[attachments]\nstore = \"ftp://x\"\n").find("attachments.store"),
            std::string::npos);
  EXPECT_NE(Error("[attachments]\nstore = \"s3://b/x\"\n").find("[s3] endpoint"),
            std::string::npos);
  EXPECT_NE(Error("[attachments]\npart_mb = 4\n").find("attachments.part_mb"), std::string::npos);
  EXPECT_NE(Error("[attachments]\nthreads = 0\n").find("attachments.threads"), std::string::npos);
  EXPECT_NE(Error("[attachments]\nquota = 5\n").find("attachments.quota"), std::string::npos);
}

TEST_F(ConfigFileTest, DocumentedExampleHasTheAttachmentDefaults) {
  const std::string example = DocumentedExample();
  ASSERT_FALSE(example.empty()) << PARLEY_OPERATIONS_MD;
  ASSERT_TRUE(Load(example).ok());
  const files::FilesConfig d, &f = config_.attachments;
  EXPECT_EQ(f.enabled, d.enabled);
  EXPECT_EQ(f.max_file_bytes, d.max_file_bytes);
  EXPECT_EQ(f.part_bytes, d.part_bytes);
  EXPECT_EQ(f.quota_bytes, d.quota_bytes);
  EXPECT_EQ(f.upload_ttl_ms, d.upload_ttl_ms);
  EXPECT_EQ(f.retention_ms, d.retention_ms);
  EXPECT_EQ(f.presign_ttl_s, d.presign_ttl_s);
  EXPECT_EQ(f.max_image_pixels, d.max_image_pixels);
  EXPECT_EQ(f.max_image_bytes, d.max_image_bytes);
  EXPECT_EQ(f.thumbnail_timeout_ms, d.thumbnail_timeout_ms);
  EXPECT_EQ(f.collect_every_ms, d.collect_every_ms);
  EXPECT_EQ(f.threads, d.threads);
}

TEST_F(ConfigFileTest, WebTableAndItsDefaults) {
  ASSERT_TRUE(Load("[web]\nenabled = false\ndir = \"/srv/parley-web\"\n").ok());
  EXPECT_FALSE(config_.web.enabled);
  EXPECT_EQ(config_.web.dir, "/srv/parley-web");
  EXPECT_NE(Error("[web]\nroot = \"/x\"\n").find("web.root"), std::string::npos);
  EXPECT_NE(Error("[web]\nenabled = 1\n").find("web.enabled"), std::string::npos);
  ASSERT_TRUE(Load(DocumentedExample()).ok());
  const web::WebConfig d;
  EXPECT_EQ(config_.web.enabled, d.enabled);
  EXPECT_EQ(config_.web.dir, d.dir);
}

TEST(ParseListen, RefusesAndLeavesOutputsAlone) {
  for (const char* in : {"", "7800", ":7800", "h:", "h:65536", "h:-1", "h: 80", "h:123456",
                         "1.2.3.4.5:80", "under_score:80", "end-.example:80", "::1:80"}) {
    std::string host = "unchanged";
    uint16_t port = 1;
    Status st = ParseListen(in, &host, &port);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << in;
    EXPECT_EQ(host, "unchanged");
    EXPECT_EQ(port, 1);
  }
}

}  // namespace
}  // namespace parley
