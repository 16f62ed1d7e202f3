// AdminApi: the HTTP admin endpoints of parleyd, behind a bearer token (`[admin] token`).
//
//   POST /admin/backup[?full=1]   take a backup now → 200 {manifest summary}
//   GET  /admin/backups           list the backups on the target → 200 [{…}, …]
//
// 401 without the right token, 404 for other paths, 405 for wrong methods, 409 while a
// backup runs, 503 when backups are not configured. One admin job runs at a time, on its
// own thread (a backup can take minutes; it must not hold a network or worker thread).
//
// Thread-safety: Handle() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "backup/backup_service.h"

namespace parley {

class AdminApi {
 public:
  using Respond = std::function<void(int status, std::string body)>;
  // `backup` may be null (not configured).
  AdminApi(std::string token, backup::BackupService* backup)
      : token_(std::move(token)), backup_(backup) {}
  ~AdminApi() { Wait(); }
  // Waits for a running job (its answer is sent first).
  void Wait();

  void Handle(const std::string& method, const std::string& target,
              const std::string& authorization, Respond respond);

 private:
  std::string token_;
  backup::BackupService* backup_;
  std::mutex mu_;
  std::thread job_;
  std::atomic<bool> busy_{false};
};

// JSON of a manifest without its file list (what list and create report).
std::string ManifestSummaryJson(const backup::Manifest& m);

}  // namespace parley
