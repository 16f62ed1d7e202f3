#include "backup/backup_service.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/background_thread.h"
#include "common/clock.h"

namespace parley::backup {

namespace fs = std::filesystem;

namespace {

// The service's single job slot (backups and pruning exclude each other), held for a scope.
class JobSlot {
 public:
  explicit JobSlot(std::atomic<bool>& running) : running_(running) {
    bool expected = false;
    held_ = running_.compare_exchange_strong(expected, true);
  }
  ~JobSlot() {
    if (held_) running_ = false;
  }
  JobSlot(const JobSlot&) = delete;
  JobSlot& operator=(const JobSlot&) = delete;
  bool held() const { return held_; }

 private:
  std::atomic<bool>& running_;
  bool held_ = false;
};

// Smaller than backup.h's default: a chunk is written and synced as one burst, and a live
// store's commits (which wait for their own fsyncs) queue behind it.
constexpr size_t kChunkBytes = 2u << 20;

}  // namespace

Result<std::unique_ptr<BackupService>> BackupService::Open(Store& store,
                                                           CheckpointSource* checkpoints,
                                                           std::string data_dir,
                                                           BackupConfig config, Audit audit) {
  if (checkpoints == nullptr) {
    return Status(Code::kFailedPrecondition,
                  "this store cannot take checkpoints of itself, so it has no online backups "
                  "(back it up with its database's own tools, and remove [backup] target)");
  }
  std::unique_ptr<BackupService> s(new BackupService(store, *checkpoints, std::move(data_dir),
                                                     std::move(config), std::move(audit)));
  if (s->config_.target.empty()) return Status(Code::kInvalidArgument, "no backup target");
  PARLEY_ASSIGN_OR_RETURN(s->target_, OpenTarget(s->config_.target, s->config_.s3));
  if (!s->config_.key_file.empty()) {
    PARLEY_ASSIGN_OR_RETURN(Key key, LoadKey(s->config_.key_file));
    s->key_ = key;
  }
  return s;
}

BackupService::~BackupService() { Stop(); }

Result<Manifest> BackupService::Run(bool full) {
  JobSlot slot(running_);
  if (!slot.held()) return Status(Code::kFailedPrecondition, "a backup is already running");
  std::lock_guard<std::mutex> blobs_lock(blobs_mu_);
  const auto start = std::chrono::steady_clock::now();
  const fs::path snapshot = fs::path(data_dir_) / "backup-snapshot";
  std::error_code ec;
  fs::remove_all(snapshot, ec);  // left by a run that was killed
  auto result = [&]() -> Result<Manifest> {
    // At normal priority: the checkpoint briefly holds the store's locks, and a preempted
    // SCHED_IDLE holder would stall every writer.
    PARLEY_RETURN_IF_ERROR(checkpoints_.Checkpoint(snapshot.string()));
    CreateOptions options;
    options.key = key_;
    options.zstd_level = config_.zstd_level;
    options.full = full;
    options.chunk_bytes = kChunkBytes;
    options.messages = store_.Stats().messages;
    options.blobs = blobs_;  // listed after the checkpoint: it holds what the store refers to
    Result<Manifest> created = Status(Code::kInternal, "backup did not run");
    // Background work (common/background_thread.h): the chunking threads inherit it.
    std::thread worker([&] {
      BecomeBackgroundThread();
      created = Create(snapshot.string(), *target_, options);
    });
    worker.join();
    return created;
  }();
  fs::remove_all(snapshot, ec);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard<std::mutex> lock(mu_);
  if (!result.ok()) {
    ++stats_.failures;
    if (audit_)
      audit_("backup failed after " + std::to_string(seconds) +
             " s: " + result.status().ToString());
    return result;
  }
  ++stats_.successes;
  stats_.last_success_ms = NowMillis();
  if (config_.keep_last > 0) {
    recent_runs_.push_back(result->id);
    while (recent_runs_.size() > config_.keep_last) recent_runs_.pop_front();
  }
  stats_.last_seconds = seconds;
  stats_.last_bytes = result->bytes;
  stats_.last_stored_bytes = result->stored_bytes;
  if (audit_) {
    audit_("backup " + result->id + " (" + result->kind + (result->encrypted ? ", encrypted" : "") +
           ") of " + std::to_string(result->bytes) + " bytes, " +
           std::to_string(result->new_bytes) + " new, " + std::to_string(result->stored_bytes) +
           " stored, ~" + std::to_string(result->messages) + " messages" +
           (result->format >= 3
                ? ", " + std::to_string(result->blob_count) + " attachment objects of " +
                      std::to_string(result->blob_bytes) + " bytes"
                : "") +
           ", in " + std::to_string(seconds) + " s to " + target_->Describe());
    if (!result->skipped_blobs.empty()) {
      std::string line = "backup " + result->id + " left out " +
                         std::to_string(result->skipped_blobs.size()) + " attachment objects:";
      for (size_t i = 0; i < result->skipped_blobs.size() && i < 10; ++i) {
        line += (i == 0 ? " " : "; ") + result->skipped_blobs[i];
      }
      audit_(line + (result->skipped_blobs.size() > 10 ? "; …" : ""));
    }
  }
  return result;
}

void BackupService::SetAttachmentStore(blob::BlobStore* blobs) {
  std::lock_guard<std::mutex> lock(blobs_mu_);
  blobs_ = blobs;
}

Result<size_t> BackupService::Prune() {
  if (config_.keep_last == 0 && config_.keep_days == 0) return size_t{0};
  JobSlot slot(running_);
  if (!slot.held()) return Status(Code::kFailedPrecondition, "a backup is running");
  const int64_t now_ms = RetentionNowMillis();
  Result<size_t> pruned = [&]() -> Result<size_t> {
    PARLEY_ASSIGN_OR_RETURN(Retention retention, EffectiveRetention(now_ms));
    return backup::Prune(*target_, retention, key_, now_ms);
  }();
  if (audit_ && !pruned.ok()) audit_("pruning failed: " + pruned.status().ToString());
  if (audit_ && pruned.ok() && *pruned > 0) {
    audit_("pruned " + std::to_string(*pruned) + " old backups (keep_last " +
           std::to_string(config_.keep_last) + ", keep_days " + std::to_string(config_.keep_days) +
           ")");
  }
  return pruned;
}

// Backups are dated by the wall clock (created_ms, in their ids, across restarts), so ages
// are wall-clock ages; but a forward step of the wall clock while parleyd runs would age
// every backup at once by its size, and keep_days would delete backups younger than that
// in real time. So "now" is never later than the wall time at Open plus the steady time
// since. A backward step makes backups look younger, which only keeps more. A step taken
// while parleyd was down cannot be told from time passing.
int64_t BackupService::RetentionNowMillis() const {
  return std::min(NowMillis(), opened_wall_ms_ + (SteadyMillis() - opened_steady_ms_));
}

// backup::Prune keeps the newest keep_last by date. After a backward step of the wall
// clock, the backups made since are dated before the older ones, and would be the first
// to go (each one right after it was made, until the clock caught up). keep_last is
// widened so that the newest keep_last backups of this process, in the order they ran,
// stay too: never fewer backups kept than asked for, a few more while dates and run order
// disagree.
Result<Retention> BackupService::EffectiveRetention(int64_t now_ms) {
  Retention retention{config_.keep_last, config_.keep_days};
  std::vector<std::string> recent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    recent.assign(recent_runs_.begin(), recent_runs_.end());
  }
  if (retention.keep_last == 0 || recent.empty()) return retention;
  // Invalid manifests first (backup::Prune then refuses anyway), the valid ones oldest first.
  PARLEY_ASSIGN_OR_RETURN(auto listed, backup::ListAll(*target_, key_, now_ms));
  for (size_t i = 0; i < listed.size(); ++i) {
    if (listed[i].status.ok() &&
        std::find(recent.begin(), recent.end(), listed[i].id) != recent.end()) {
      retention.keep_last = std::max(retention.keep_last, listed.size() - i);
      break;  // the oldest-dated of them decides
    }
  }
  return retention;
}

Result<std::vector<Manifest>> BackupService::List() { return backup::List(*target_, key_); }

Result<std::vector<ListedBackup>> BackupService::ListAll() {
  return backup::ListAll(*target_, key_, NowMillis());
}

BackupRunStats BackupService::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void BackupService::Start() {
  if (config_.incremental_every_s <= 0 && config_.full_every_s <= 0) return;
  scheduler_ = std::thread([this] { Schedule(); });
}

void BackupService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
}

void BackupService::Schedule() {
  // Due times count from start-up (and from the start of the last backup of each kind) on
  // the steady clock: a backward step of the wall clock would otherwise hold backups back
  // by its size, and a forward one make the next full backup due at once.
  const int64_t start = SteadyMillis();
  int64_t next_full = config_.full_every_s > 0 ? start + config_.full_every_s * 1000 : INT64_MAX;
  int64_t next_inc =
      config_.incremental_every_s > 0 ? start + config_.incremental_every_s * 1000 : INT64_MAX;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      const int64_t wait_ms = std::max<int64_t>(0, std::min(next_full, next_inc) - SteadyMillis());
      wake_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(wait_ms, 60'000)),
                     [this] { return stop_; });
      if (stop_) return;
    }
    const int64_t now = SteadyMillis();
    if (now < std::min(next_full, next_inc)) continue;
    const bool full = now >= next_full;
    // Whatever a backup or the target throws (it should not: errors are Statuses), the
    // scheduler and the server outlive it; the failure is counted and audited.
    Result<Manifest> result = Status(Code::kInternal, "backup did not run");
    try {
      result = Run(full);
    } catch (const std::exception& e) {
      result = Status(Code::kInternal, std::string("backup threw: ") + e.what());
      if (audit_) audit_("backup failed: " + result.status().ToString());
    }
    if (full) next_full = now + config_.full_every_s * 1000;
    if (config_.incremental_every_s > 0) next_inc = now + config_.incremental_every_s * 1000;
    if (result.ok()) {
      try {
        (void)Prune();  // failures are audited; the next run tries again
      } catch (const std::exception& e) {
        if (audit_) audit_(std::string("pruning failed: ") + e.what());
      }
    }
  }
}

}  // namespace parley::backup
