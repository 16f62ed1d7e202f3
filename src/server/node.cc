#include "server/node.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <filesystem>

#include "common/crypto.h"
#include "common/files.h"
#include "metrics/stages.h"
#include "server/commit_metrics.h"
#include "store/rocks_store.h"
#include "web/web_assets.h"

namespace parley {
namespace {

// The data directory holds password hashes, tokens' digests and every message: 0700, and
// an existing one with looser modes (an older parleyd, a copy) is tightened.
Status PrepareDataDir(const std::string& dir) {
  if (auto st = CreatePrivateDirs(dir); !st.ok()) {
    return Status(st.code(), "data directory: " + st.message());
  }
  auto tightened = MakeTreePrivate(dir);
  if (!tightened.ok()) {
    return Status(tightened.status().code(), "data directory: " + tightened.status().message());
  }
  if (*tightened > 0) {
    spdlog::warn(
        "data directory {}: {} files and directories were readable by other users; now "
        "owner-only (0700 directories, 0600 files)",
        dir, *tightened);
  }
  return Status::Ok();
}

// `checkpoints` (may be null) gets the embedded engine's checkpoints, for online backups.
// `breaker` (may be null): PostgreSQL's circuit breaker.
Result<std::unique_ptr<Core>> OpenCoreAt(const ServerConfig& config, CommitFeed* feed,
                                         CheckpointSource** checkpoints = nullptr,
                                         const SequencerTimings& timings = {},
                                         CircuitBreaker* breaker = nullptr) {
  PARLEY_RETURN_IF_ERROR(PrepareDataDir(config.data_dir));
  if (config.engine == ServerConfig::StoreEngine::kPostgres) {
    // Shared with the other nodes; the data directory keeps only this node's search index.
    PgStoreOptions options = config.postgres;
    options.breaker = breaker;
    PARLEY_ASSIGN_OR_RETURN(auto store, OpenPgStore(options));
    return Core::Open(std::move(store), config.service, feed, timings);
  }
  PARLEY_ASSIGN_OR_RETURN(auto store, OpenRocksStore(config.data_dir, config.store));
  if (checkpoints != nullptr) *checkpoints = store.get();
  return Core::Open(std::move(store), config.service, feed, timings);
}

void LogCounters(const ServerConfig& config, Core& core) {
  auto counters = core.store().LoadCounters();
  auto stats = core.store().Stats();
  const bool postgres = config.engine == ServerConfig::StoreEngine::kPostgres;
  spdlog::info("parleyd {} store={} durability={}", PARLEY_VERSION,
               postgres ? "postgres schema " + config.postgres.schema : config.data_dir,
               config.service.durability == Durability::kSync ? "sync" : "buffered");
  if (counters.ok()) {
    spdlog::info("status: users={} conversations={} changes={} messages~{} disk_bytes={}",
                 counters->last_user_id, counters->last_conv_id, counters->last_gseq,
                 stats.messages, stats.disk_bytes);
  }
}

void RegisterProcessMetrics(metrics::Registry& registry, Core& core) {
  registry.gauge_fn("parley_process_resident_bytes", "Resident memory of parleyd.",
                    [] { return static_cast<double>(metrics::ProcessRssBytes()); });
  registry.gauge_fn("parley_process_open_fds", "Open file descriptors of parleyd.",
                    [] { return static_cast<double>(metrics::OpenFileCount()); });
  registry.gauge_fn("parley_process_max_fds", "Open-file limit of parleyd.",
                    [] { return static_cast<double>(metrics::OpenFileLimit()); });
  registry.gauge_fn("parley_committed_gseq", "Last durable change number.",
                    [c = &core] { return static_cast<double>(c->sequencer().committed_gseq()); });
  // Cluster mode: batches that found other nodes' commits since this node's previous one,
  // and those that had to forget every cache (the rest forget only what was touched).
  registry.gauge_fn("parley_sequencer_foreign_batches_total",
                    "Batches that found other nodes' commits before them (counter).", [c = &core] {
                      return static_cast<double>(c->sequencer().stats().foreign_commits);
                    });
  registry.gauge_fn(
      "parley_sequencer_cache_drops_total", "Batches that dropped all sequencer caches (counter).",
      [c = &core] { return static_cast<double>(c->sequencer().stats().caches_dropped); });
  // A slow disk (docs/faults.md "Slow fsync"): the queue deepens up to its bound, then
  // writes are refused.
  registry.gauge_fn("parley_sequencer_queue_depth", "Write requests waiting for the sequencer.",
                    [c = &core] { return static_cast<double>(c->sequencer().stats().queued); });
  registry.gauge_fn(
      "parley_sequencer_queue_peak", "Most write requests that ever waited for the sequencer.",
      [c = &core] { return static_cast<double>(c->sequencer().stats().largest_queue); });
  registry.gauge_fn(
      "parley_sequencer_refused_total",
      "Write requests refused (unavailable) because the queue was full (counter).",
      [c = &core] { return static_cast<double>(c->sequencer().stats().refused_full); });
}

// The embedded store's write path: a full disk stops writes until space is freed.
void RegisterStoreMetrics(metrics::Registry& registry, RocksStore& store) {
  registry.gauge_fn("parley_store_refusing_writes",
                    "1 while the store refuses writes for lack of disk space.",
                    [s = &store] { return s->health().refusing_writes ? 1.0 : 0.0; });
  registry.gauge_fn("parley_store_no_space_errors_total",
                    "Store writes and background jobs that found no disk space (counter).",
                    [s = &store] { return static_cast<double>(s->health().no_space_errors); });
  registry.gauge_fn("parley_store_resumes_total",
                    "Times the store resumed writing after running out of space (counter).",
                    [s = &store] { return static_cast<double>(s->health().resumes); });
}

void RegisterSearchMetrics(metrics::Registry& registry, search::SearchService& search) {
  registry.gauge_fn("parley_search_index_errors_total",
                    "Indexing steps that failed and were retried, e.g. on a full disk (counter).",
                    [s = &search] { return static_cast<double>(s->indexer().failures()); });
  registry.gauge_fn("parley_search_lag_changes", "Committed changes not yet indexed.",
                    [s = &search] { return static_cast<double>(s->indexer().lag_changes()); });
  registry.gauge_fn("parley_search_lag_seconds", "Age of the oldest change not yet indexed.",
                    [s = &search] { return s->indexer().lag_seconds(); });
  registry.gauge_fn("parley_search_documents", "Messages in the search index.", [s = &search] {
    auto docs = s->index().docs();
    return docs.ok() ? static_cast<double>(*docs) : -1.0;
  });
}

void RegisterBackupMetrics(metrics::Registry& registry, backup::BackupService& backups) {
  auto* b = &backups;
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
}

}  // namespace

Node::Node(const ServerConfig& config)
    : config_(config), hub_(config.gateway.max_sessions_per_user) {}

Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Start(const ServerConfig& config) {
  PARLEY_RETURN_IF_ERROR(InitCrypto());
  std::unique_ptr<Node> node(new Node(config));
  // On error `node` goes out of scope and its destructor stops what was started.
  PARLEY_RETURN_IF_ERROR(node->OpenCore());
  PARLEY_RETURN_IF_ERROR(node->StartSearch());
  PARLEY_RETURN_IF_ERROR(node->StartBackups());
  node->StartCluster();
  node->StartAdmin();
  PARLEY_RETURN_IF_ERROR(node->StartFiles());
  PARLEY_RETURN_IF_ERROR(node->StartGateway());
  return node;
}

Status Node::OpenCore() {
  SequencerTimings timings;
  timings.queue_wait = &metrics::StageHistogram(registry_, "queue_wait");
  timings.stage = &metrics::StageHistogram(registry_, "stage");
  timings.store_write = &metrics::StageHistogram(registry_, "store_write");
  timings.fsync = &metrics::StageHistogram(registry_, "fsync");
  PARLEY_ASSIGN_OR_RETURN(core_,
                          OpenCoreAt(config_, &feed_, &checkpoints_, timings, &store_breaker_));
  LogCounters(config_, *core_);
  if (auto* rocks = dynamic_cast<RocksStore*>(&core_->store())) {
    RegisterStoreMetrics(registry_, *rocks);
  }
  if (config_.engine == ServerConfig::StoreEngine::kPostgres) {
    registry_.gauge_fn(
        "parley_breaker_state",
        "Circuit breaker of a dependency: 0 closed (in use), 1 open (failing fast), 2 half-open "
        "(probing).",
        [b = &store_breaker_] { return static_cast<double>(static_cast<int>(b->state())); },
        {{"dep", "postgres"}});
    registry_.gauge_fn("parley_breaker_opened_total",
                       "Times a dependency's circuit breaker opened (counter).",
                       [b = &store_breaker_] { return static_cast<double>(b->times_opened()); },
                       {{"dep", "postgres"}});
    // A read every half second keeps the breaker's view current without traffic: it trips
    // when the database goes away and, as the half-open probe, closes it when it is back.
    store_probe_ = std::make_unique<PeriodicProbe>(
        std::chrono::milliseconds(500),
        [c = core_.get()] { c->store().LoadCounters().status().IgnoreError(); });
  }
  // The metrics first: the delay they measure is then the wait in the feed alone.
  commit_metrics_ = FollowCommitMetrics(feed_, registry_, {"hub", "search", "metrics"});
  hub_.Follow(feed_);
  RegisterProcessMetrics(registry_, *core_);
  return Status::Ok();
}

Status Node::StartSearch() {
  if (!config_.search.enabled) return Status::Ok();
  auto& indexed = registry_.counter("parley_search_documents_indexed_total",
                                    "Messages added, replaced or removed in the search index.");
  search::IndexerOptions options;
  options.on_batch = [&indexed](size_t docs, double) { indexed.Inc(docs); };
  const std::string index_path =
      (std::filesystem::path(config_.data_dir) / "search" / "index.db").string();
  auto opened = search::SearchService::Open(core_->store(), index_path, config_.search, options);
  if (!opened.ok()) {
    return Status(opened.status().code(), "search index: " + opened.status().message());
  }
  search_ = std::move(*opened);
  if (search_->rebuilt()) {
    spdlog::info(
        "search index at {} is new or of another format: rebuilding it from the change feed "
        "in the background",
        index_path);
  }
  RegisterSearchMetrics(registry_, *search_);
  search_->Start(&feed_);
  return Status::Ok();
}

// Scheduled backups and the admin endpoint's backups (one place for the backup wiring).
Status Node::StartBackups() {
  if (config_.backup.target.empty()) return Status::Ok();
  if (checkpoints_ == nullptr) {
    return Status(Code::kInvalidArgument,
                  "backups: [backup] copies the embedded store; with engine = \"postgres\" back "
                  "up PostgreSQL itself (docs/cluster.md)");
  }
  auto opened =
      backup::BackupService::Open(core_->store(), checkpoints_, config_.data_dir, config_.backup,
                                  [](const std::string& line) { spdlog::info("audit: {}", line); });
  if (!opened.ok()) return Status(opened.status().code(), "backups: " + opened.status().message());
  backups_ = std::move(*opened);
  RegisterBackupMetrics(registry_, *backups_);
  backups_->Start();
  return Status::Ok();
}

void Node::StartCluster() {
  if (!config_.cluster.redis_enabled()) return;
  cluster::ClusterOptions options;
  options.node = config_.cluster.node;
  if (options.node.empty()) {
    char host[256] = {};
    options.node = ::gethostname(host, sizeof(host) - 1) == 0 ? host : "parleyd";
  }
  options.redis_host = config_.cluster.redis_host;
  options.redis_port = config_.cluster.redis_port;
  // The cross-node budgets of registrations and connections per IP are the per-node ones
  // of [limits]: one node's allowance for the whole cluster.
  const GatewayConfig& g = config_.gateway;
  options.limits.rules[static_cast<size_t>(cluster::SharedLimit::kRegister)] = {
      g.register_rate_per_ip, g.register_burst_per_ip};
  options.limits.rules[static_cast<size_t>(cluster::SharedLimit::kConnect)] = {
      g.handshake_rate_per_ip, g.handshake_burst_per_ip};
  cluster_ = std::make_unique<cluster::Cluster>(
      options, RedisPeers::Handlers(hub_, core_->accounts()), registry_);
  peers_ = std::make_unique<RedisPeers>(*cluster_, hub_);
  cluster_hints_ = feed_.Subscribe(
      "redis", [c = cluster_.get()](const CommitFeed::Notice& n) { c->bus().PublishNotice(*n); });
  cluster_->Start();
}

void Node::StartAdmin() {
  admin_ = std::make_unique<AdminApi>(config_.admin_token, backups_.get(), core_.get());
  admin_->SetRevokeUser([this](const std::string& name) -> Result<size_t> {
    auto& accounts = core_->accounts();
    PARLEY_ASSIGN_OR_RETURN(UserRecord user, accounts.FindUser(name));
    PARLEY_ASSIGN_OR_RETURN(size_t revoked, accounts.RevokeAll(user.id));
    hub_.Close(user.id, Hub::Scope::kAllDevices, "", kCloseRevoked,
               "session revoked: by an administrator");
    if (peers_) peers_->Revoked(user.id, Hub::Scope::kAllDevices, "");
    spdlog::info("audit: admin revoked user {} ({} devices)", user.name, revoked);
    return revoked;
  });
}

Status Node::StartFiles() {
  if (!config_.attachments.enabled) return Status::Ok();
  PARLEY_ASSIGN_OR_RETURN(
      files_, files::FileService::Open(config_.attachments, config_.data_dir, *core_, registry_));
  core_->messages().SetRecallObserver(
      [f = files_.get()](const MessageRecord& before) { f->OnRecalled(before); });
  if (backups_) backups_->SetAttachmentStore(&files_->store());  // backups include them
  return Status::Ok();
}

namespace {

// The web client's directory: [web] dir, else `web` beside this executable if the build
// put it there ("" when there is none: parleyd then serves no /app/).
std::string WebDir(const web::WebConfig& config) {
  if (!config.dir.empty()) return config.dir;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const std::filesystem::path dir = exe.parent_path() / "web";
  return std::filesystem::exists(dir / "index.html", ec) ? dir.string() : "";
}

}  // namespace

Status Node::StartGateway() {
  ServerExtras extras;
  if (files_) {
    extras.attachments = files_.get();
    extras.routes = files_->Routes();
  }
  if (config_.web.enabled) {
    const std::string dir = WebDir(config_.web);
    if (dir.empty()) {
      spdlog::info("web client: not built (node web/build.mjs), /app/ is not served");
    } else {
      PARLEY_ASSIGN_OR_RETURN(auto assets, web::WebAssets::Load(dir));
      spdlog::info("web client: {} files from {} at /app/", assets->size(), dir);
      for (Route& r : web::WebRoutes(std::move(assets))) extras.routes.push_back(std::move(r));
    }
  }
  AdminHandler admin_handler;
  if (!config_.admin_token.empty()) {
    admin_handler = [admin = admin_.get()](std::string method, std::string target,
                                           std::string authorization, std::string body,
                                           std::function<void(int, std::string)> respond) {
      admin->Handle(method, target, authorization, body, std::move(respond));
    };
  }
  PARLEY_ASSIGN_OR_RETURN(
      server_, Server::Start(
                   config_.gateway, *core_, hub_, registry_, search_.get(),
                   std::move(admin_handler), peers_.get(),
                   [b = &store_breaker_] { return b->state() != CircuitBreaker::State::kOpen; },
                   std::move(extras)));
  return Status::Ok();
}

void Node::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (admin_) admin_->Wait();  // a backup asked for over HTTP completes and is answered first
  if (server_) server_->Shutdown(std::chrono::seconds(5));
  if (files_) files_->Stop();  // uploads being written complete; no new ones come
  store_probe_.reset();
  if (backups_) backups_->Stop();  // a scheduled backup in progress completes first
  if (backups_) backups_->SetAttachmentStore(nullptr);
  feed_.Stop();  // pushes and index wake-ups already queued go out
  cluster_hints_.Reset();
  if (cluster_) cluster_->Stop();  // after the feed: its last hints are published
  if (search_) search_->Stop();    // its checkpoint is in the index: it resumes there
  if (core_) {
    spdlog::info("committing queued writes and closing the store");
    core_->Shutdown();
  }
  server_.reset();
}

Status LogStoreStatus(const ServerConfig& config) {
  PARLEY_ASSIGN_OR_RETURN(auto core, OpenCoreAt(config, nullptr));
  LogCounters(config, *core);
  core->Shutdown();
  return Status::Ok();
}

}  // namespace parley
