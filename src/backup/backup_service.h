// BackupService: backups of a live store, on demand (the admin endpoint) and on a schedule.
//
// Each run takes a checkpoint of the store into DATA/backup-snapshot (with RocksDB: hard
// links to the tables plus a copy of a small write-ahead log; store/checkpoint.h), backs that
// directory up (backup.h) in 2 MiB chunks and removes it. Runs are serialized. After the
// checkpoint, the run drops its thread to SCHED_IDLE: any other runnable thread preempts
// it, so sends keep their latency during a backup (measured: p99 1.2-1.9x idle at 2,000
// msgs/s), at the price that backups crawl on a server whose CPUs are saturated. The
// search index is not backed up: it is derived data and is rebuilt from the restored store
// when parleyd starts on it. With an attachment store (SetAttachmentStore), each run also
// backs up its att/, thumb/ and meta/ objects (backup.h), listed after the checkpoint.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "backup/backup.h"
#include "common/clock.h"
#include "store/checkpoint.h"
#include "store/store.h"

namespace parley::backup {

struct BackupConfig {
  std::string target;    // a directory or s3://bucket/prefix; empty: backups are off
  s3::S3Config s3;       // the service of an s3:// target ([s3]; bucket from the target)
  std::string key_file;  // 64 hex digits; empty: backups are not encrypted
  int zstd_level = 3;
  int64_t incremental_every_s = 0;  // 0: no scheduled incrementals
  int64_t full_every_s = 0;         // 0: no scheduled fulls
  // Retention, applied after each scheduled run (backup.h Retention): keep the newest
  // `keep_last` and those younger than `keep_days`; both 0 keeps everything. Under wall
  // clock steps (docs/faults.md, "Clock steps"): the newest `keep_last` backups this
  // process made are kept even when a backward step dated them before older ones, and
  // ages are never measured against a wall time further ahead than the steady clock has
  // run since start-up.
  size_t keep_last = 0;
  int64_t keep_days = 0;
};

struct BackupRunStats {
  int64_t last_success_ms = 0;
  double last_seconds = 0;
  uint64_t last_stored_bytes = 0;
  uint64_t last_bytes = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
};

class BackupService {
 public:
  using Audit = std::function<void(const std::string& line)>;

  // `store` and `checkpoints` are the same store, seen as a Store (for its statistics) and
  // as the embedded engine that can copy itself; both must outlive the service. `data_dir`
  // is where the checkpoint is taken: on the store's file system, so that files can be
  // hard-linked. Fails with kFailedPrecondition when `checkpoints` is null (a store that is
  // not embedded has no online backup), or if the target cannot be opened or the key file
  // is unreadable.
  static Result<std::unique_ptr<BackupService>> Open(Store& store, CheckpointSource* checkpoints,
                                                     std::string data_dir, BackupConfig config,
                                                     Audit audit);
  ~BackupService();  // Stops.

  // One backup now. kFailedPrecondition if another is running.
  Result<Manifest> Run(bool full);
  // Applies the configured retention now. kFailedPrecondition while a backup runs (pruning
  // beside a backup could delete chunks its manifest is about to reference).
  // With keep_last, it reads the target's manifests twice (once to find where this
  // process's own backups sort).
  Result<size_t> Prune();
  Result<std::vector<Manifest>> List();
  // Every manifest on the target, invalid ones with their reason (backup.h ListAll).
  Result<std::vector<ListedBackup>> ListAll();

  // Backs up the objects of `blobs` (the attachment store, not owned) with the store from
  // the next run on; null: none (the default). Waits for a run in progress, so that after
  // it returns no run uses the previous store: set null before destroying the store it
  // was given, unless the service goes first.
  void SetAttachmentStore(blob::BlobStore* blobs);

  // The scheduler thread (only if the config schedules anything). Its due times are on
  // the steady clock: wall clock steps neither delay nor hasten scheduled backups.
  void Start();
  void Stop();

  BackupRunStats stats() const;
  bool running() const { return running_.load(); }
  const BackupConfig& config() const { return config_; }

 private:
  BackupService(Store& store, CheckpointSource& checkpoints, std::string data_dir,
                BackupConfig config, Audit audit)
      : store_(store),
        checkpoints_(checkpoints),
        data_dir_(std::move(data_dir)),
        config_(std::move(config)),
        audit_(std::move(audit)) {}
  void Schedule();
  // The wall time retention ages backups against: the wall clock, but no later than the
  // wall time at Open plus the steady time since.
  int64_t RetentionNowMillis() const;
  // The configured retention, with keep_last widened to reach the oldest-dated of this
  // process's newest keep_last backups.
  Result<Retention> EffectiveRetention(int64_t now_ms);

  Store& store_;
  CheckpointSource& checkpoints_;
  const std::string data_dir_;
  const BackupConfig config_;
  const Audit audit_;
  std::optional<Key> key_;
  std::unique_ptr<Target> target_;
  std::atomic<bool> running_{false};
  std::mutex blobs_mu_;  // blobs_; held by a run for its whole length
  blob::BlobStore* blobs_ = nullptr;
  mutable std::mutex mu_;  // stats_, recent_runs_, stop_
  BackupRunStats stats_;
  std::deque<std::string> recent_runs_;  // ids of this process's newest keep_last backups
  const int64_t opened_wall_ms_ = NowMillis();
  const int64_t opened_steady_ms_ = SteadyMillis();
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread scheduler_;
};

}  // namespace parley::backup
