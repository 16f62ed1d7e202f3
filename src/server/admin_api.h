// AdminApi: the HTTP admin endpoints of parleyd, behind a bearer token (`[admin] token`).
//
//   POST /admin/backup[?full=1]   take a backup now → 200 {manifest summary}
//   GET  /admin/backups           list the backups on the target → 200 [{…}, …]; an object
//                                 that is not a valid backup is listed with "valid": false
//                                 and its "error" (before the valid ones, oldest first)
//   POST /admin/invites           {"uses": N, "expires_in_s": S} (both optional) → 200
//                                 {"token", "uses", "expires_ms"}: a registration invite
//   POST /admin/users             {"name", "password"} → 200 {"user", "name"}: an account
//                                 created whatever `[accounts] registration` says;
//                                 400 for a bad name/password/body, 409 if the name is taken
//   POST /admin/users/NAME/revoke revoke every device of NAME and close its live sessions
//                                 → 200 {"user": NAME, "revoked": N}; 404 for an unknown user
//
// 401 without the right token, 404 for other paths, 405 for wrong methods, 409 while a
// backup runs, 429 with too many listings at once, 503 when backups are not configured.
// One backup runs at a time, on its own thread (it can take minutes; it must not hold a
// network or worker thread); listings run beside it, each on a short-lived thread.
//
// Thread-safety: Handle() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backup/backup_service.h"
#include "server/admin_request.h"
#include "service/core.h"

namespace parley {

class AdminApi {
 public:
  using Respond = std::function<void(int status, std::string body)>;
  // `backup` may be null (not configured); `core` may be null (no account endpoints).
  AdminApi(std::string token, backup::BackupService* backup, Core* core = nullptr)
      : token_(std::move(token)), backup_(backup), core_(core) {}
  ~AdminApi() { Wait(); }
  // Waits for a running job (its answer is sent first).
  void Wait();

  // `body`: the request body (JSON for the account endpoints; empty otherwise).
  // Revokes every device of the user named `name` and closes its live sessions; returns
  // how many devices were revoked, kNotFound for an unknown user. Blocking (a commit).
  using RevokeUser = std::function<Result<size_t>(const std::string& name)>;
  // Set before the first request; without it /admin/users/ answers 404.
  void SetRevokeUser(RevokeUser revoke) { revoke_user_ = std::move(revoke); }

  void Handle(const std::string& method, const std::string& target,
              const std::string& authorization, const std::string& body, Respond respond);

 private:
  // POST /admin/invites and /admin/users (the latter hashes a password: on a thread).
  void Accounts(const AdminRequest& req, Respond respond);

  // POST /admin/users/NAME/revoke (token already checked).
  void Revoke(const std::string& name, Respond respond);

  std::string token_;
  backup::BackupService* backup_;
  Core* core_;
  RevokeUser revoke_user_;
  static constexpr size_t kMaxListings = 4;
  // Starts `work` on a thread of its own; false if `kMaxListings` listings are running.
  bool StartListing(std::function<void()> work);

  std::mutex mu_;  // job_, listings_
  std::thread job_;
  std::atomic<bool> busy_{false};
  std::vector<std::thread> listings_;
  std::atomic<size_t> listings_running_{0};
};

// JSON of a manifest without its file list (what list and create report).
std::string ManifestSummaryJson(const backup::Manifest& m);

}  // namespace parley
