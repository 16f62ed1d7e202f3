#include "service/accounts.h"

#include <algorithm>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/text.h"
#include "service/await.h"

namespace parley {
namespace {
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 1024;
// Last-seen times are written at most this often per device (less for short lifetimes).
constexpr int64_t kMaxTouchIntervalMs = 3600 * 1000;

// Commits `ops` in one batch and waits for it.
template <typename Ops>
Status CommitAll(Sequencer* sequencer, Ops ops) {
  auto st = Await<bool>([&](Callback<bool> cb) {
    sequencer->SubmitFor<bool>(
        [ops = std::move(ops)](CommitBatch& b, bool&) -> Status {
          for (const auto& o : ops) b.writes().Add(o);
          return Status::Ok();
        },
        std::move(cb));
  });
  return st.ok() ? Status::Ok() : st.status();
}
}  // namespace

int64_t AccountService::TouchInterval() const {
  if (config_.token_ttl_ms <= 0) return kMaxTouchIntervalMs;
  return std::clamp<int64_t>(config_.token_ttl_ms / 8, 1, kMaxTouchIntervalMs);
}

Result<UserRecord> AccountService::Register(std::string_view name, std::string_view password) {
  std::string normalized = NormalizeUserName(name);
  if (normalized.empty()) {
    return InvalidArgument(
        "user name must be 3-32 characters of a-z, 0-9, '_', '.', '-', starting with a letter");
  }
  if (password.size() < kMinPassword || password.size() > kMaxPassword) {
    return InvalidArgument("password must be 8 to 1024 bytes");
  }
  if (store_->FindUserByName(normalized).ok()) {
    return Status(Code::kAlreadyExists, "user name '" + normalized + "' is taken");
  }
  PARLEY_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, config_.password_cost));
  return RegisterWithHash(normalized, std::move(hash));
}

Result<UserRecord> AccountService::RegisterWithHash(std::string_view name, std::string hash) {
  std::string normalized = NormalizeUserName(name);
  if (normalized.empty()) return InvalidArgument("invalid user name");
  if (hash.rfind("$argon2id$", 0) != 0) return InvalidArgument("not an Argon2id hash");
  return Await<UserRecord>([&](Callback<UserRecord> cb) {
    sequencer_->SubmitFor<UserRecord>(
        [normalized, hash](CommitBatch& b, UserRecord& out) -> Status {
          if (b.IsNamePending(normalized) || b.store().FindUserByName(normalized).ok()) {
            return Status(Code::kAlreadyExists, "user name '" + normalized + "' is taken");
          }
          out.id = b.NextUserId();
          out.name = normalized;
          out.password_hash = hash;
          out.created_ms = b.now_ms();
          b.AddPendingName(normalized);
          b.writes().Add(op::PutUser{out});
          return Status::Ok();
        },
        std::move(cb));
  });
}

Result<UserRecord> AccountService::FindUser(std::string_view name) {
  std::string normalized = NormalizeUserName(name);
  if (normalized.empty()) return NotFound("no user named '" + std::string(name) + "'");
  auto id = store_->FindUserByName(normalized);
  if (!id.ok()) {
    if (id.status().code() == Code::kNotFound)
      return NotFound("no user named '" + normalized + "'");
    return id.status();
  }
  return store_->GetUser(*id);
}

const std::string& AccountService::DummyHash() {
  std::call_once(dummy_once_, [this] {
    auto hash = HashPassword(RandomHex(16), config_.password_cost);
    // Hashing fails only when out of memory; an empty hash verifies nothing (fast, but
    // still refuses), and the next start tries again.
    if (hash.ok()) dummy_hash_ = std::move(*hash);
  });
  return dummy_hash_;
}

Result<UserRecord> AccountService::CheckPassword(std::string_view name, std::string_view password) {
  const Status bad_login(Code::kUnauthenticated, "unknown user or wrong password");
  auto user = FindUser(name);
  if (!user.ok()) {
    if (user.status().code() != Code::kNotFound) return user.status();
    // Spend the same time as a real check: the reply must not tell whether the name exists.
    (void)VerifyPassword(DummyHash(), password);
    return bad_login;
  }
  if (!VerifyPassword(user->password_hash, password)) return bad_login;
  return user;
}

Result<LoginResult> AccountService::OpenDevice(const UserRecord& user, std::string_view device_id) {
  if (!device_id.empty() && !IsValidClientId(device_id, config_.max_client_id_chars)) {
    return InvalidArgument("device id must be 1-64 printable ASCII characters without spaces");
  }
  LoginResult result;
  result.user_id = user.id;
  result.device_id = device_id.empty() ? "dev-" + RandomHex(8) : std::string(device_id);
  result.token = RandomHex(32);
  const int64_t now = now_ms_();
  DeviceRecord device{user.id, result.device_id, Digest(result.token), now, now};
  std::lock_guard<std::mutex> lock(DeviceLock(user.id));
  // A password change that committed while we verified revoked every device: a token from
  // the old password must not be issued after it.
  auto current = store_->GetUser(user.id);
  if (!current.ok()) return current.status();
  if (current->password_hash != user.password_hash) {
    return Status(Code::kUnauthenticated, "unknown user or wrong password");
  }
  PARLEY_RETURN_IF_ERROR(RemoveDevices(user.id, result.device_id, nullptr));
  auto st = Await<bool>([&](Callback<bool> cb) {
    sequencer_->SubmitFor<bool>(
        [device](CommitBatch& b, bool&) -> Status {
          b.writes().Add(op::PutDevice{device});
          return Status::Ok();
        },
        std::move(cb));
  });
  if (!st.ok()) return st.status();
  return result;
}

Result<LoginResult> AccountService::Login(std::string_view name, std::string_view password,
                                          std::string_view device_id) {
  if (!device_id.empty() && !IsValidClientId(device_id, config_.max_client_id_chars)) {
    return InvalidArgument("device id must be 1-64 printable ASCII characters without spaces");
  }
  PARLEY_ASSIGN_OR_RETURN(UserRecord user, CheckPassword(name, password));
  return OpenDevice(user, device_id);
}

Result<TokenCheck> AccountService::CheckToken(std::string_view token) {
  if (token.empty() || token.size() > 256) {
    return Status(Code::kUnauthenticated, "invalid token");
  }
  const std::string digest = Digest(token);
  std::optional<DeviceRecord> device = token_cache_.Find(digest, SteadyMillis());
  if (!device) {
    const uint64_t epoch = token_cache_.Begin();
    auto stored = store_->FindDeviceByToken(digest);
    if (!stored.ok()) {
      if (stored.status().code() == Code::kNotFound) {
        return Status(Code::kUnauthenticated, "unknown or revoked token");
      }
      return stored.status();
    }
    token_cache_.Put(*stored, epoch, SteadyMillis());
    device = std::move(*stored);
  }
  const int64_t now = now_ms_();
  TokenCheck out;
  out.who = Identity{device->user_id, device->device_id};
  out.expired = Expired(*device, now);
  out.touch_due = !out.expired && now - device->last_seen_ms >= TouchInterval();
  return out;
}

Result<Identity> AccountService::Authenticate(std::string_view token) {
  PARLEY_ASSIGN_OR_RETURN(TokenCheck check, CheckToken(token));
  if (check.expired) return Status(Code::kUnauthenticated, "token expired; log in again");
  return check.who;
}

Status AccountService::Touch(const Identity& who) {
  std::lock_guard<std::mutex> lock(DeviceLock(who.user_id));
  PARLEY_ASSIGN_OR_RETURN(auto devices, store_->ListDevices(who.user_id));
  for (auto& d : devices) {
    if (d.device_id != who.device_id) continue;
    const int64_t now = now_ms_();
    if (Expired(d, now)) {
      Status deleted = CommitAll(
          sequencer_, std::vector<op::DeleteDevice>{{d.user_id, d.device_id, d.token_digest}});
      token_cache_.ForgetUser(who.user_id);
      PARLEY_RETURN_IF_ERROR(deleted);
      return Status(Code::kUnauthenticated, "token expired; log in again");
    }
    if (now - d.last_seen_ms < TouchInterval()) {
      token_cache_.Seen(d.token_digest, d.last_seen_ms);
      return Status::Ok();
    }
    d.last_seen_ms = now;
    PARLEY_RETURN_IF_ERROR(CommitAll(sequencer_, std::vector<op::PutDevice>{{d}}));
    token_cache_.Seen(d.token_digest, now);
    return Status::Ok();
  }
  return NotFound("unknown or revoked device");
}

Status AccountService::Logout(const Identity& who) {
  std::lock_guard<std::mutex> lock(DeviceLock(who.user_id));
  return RemoveDevices(who.user_id, who.device_id, nullptr);
}

Status AccountService::RevokeDevice(UserId user, std::string_view device_id) {
  if (device_id.empty()) return NotFound("no such device");
  std::lock_guard<std::mutex> lock(DeviceLock(user));
  size_t removed = 0;
  PARLEY_RETURN_IF_ERROR(RemoveDevices(user, device_id, &removed));
  if (removed == 0) return NotFound("no device '" + std::string(device_id) + "'");
  return Status::Ok();
}

Result<size_t> AccountService::RevokeAll(UserId user) {
  std::lock_guard<std::mutex> lock(DeviceLock(user));
  size_t removed = 0;
  PARLEY_RETURN_IF_ERROR(RemoveDevices(user, "", &removed));
  return removed;
}

Result<size_t> AccountService::RevokeOthers(UserId user, std::string_view keep) {
  std::lock_guard<std::mutex> lock(DeviceLock(user));
  size_t removed = 0;
  PARLEY_RETURN_IF_ERROR(RemoveDevices(user, keep, &removed, Match::kAllBut));
  return removed;
}

Result<size_t> AccountService::ChangePassword(const Identity& who, std::string_view old_password,
                                              std::string_view new_password) {
  PARLEY_ASSIGN_OR_RETURN(UserRecord user, store_->GetUser(who.user_id));
  if (!VerifyPassword(user.password_hash, old_password)) {
    return Status(Code::kUnauthenticated, "wrong password");
  }
  if (new_password.size() < kMinPassword || new_password.size() > kMaxPassword) {
    return InvalidArgument("new_password must be 8 to 1024 bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(std::string hash, HashPassword(new_password, config_.password_cost));
  std::lock_guard<std::mutex> lock(DeviceLock(who.user_id));
  // Another change committed while we hashed: the old password we checked is stale.
  PARLEY_ASSIGN_OR_RETURN(UserRecord current, store_->GetUser(who.user_id));
  if (current.password_hash != user.password_hash) {
    return Status(Code::kUnauthenticated, "the password was changed meanwhile");
  }
  current.password_hash = std::move(hash);
  PARLEY_ASSIGN_OR_RETURN(auto devices, store_->ListDevices(who.user_id));
  std::vector<WriteOp> ops{op::PutUser{current}};
  for (const auto& d : devices) {
    if (d.device_id != who.device_id) {
      ops.push_back(op::DeleteDevice{d.user_id, d.device_id, d.token_digest});
    }
  }
  // The new hash and the revocations commit together: no window where the old tokens
  // outlive the new password, or the new password exists while they are still valid.
  const size_t revoked = ops.size() - 1;
  Status committed = CommitAll(sequencer_, std::move(ops));
  token_cache_.ForgetUser(who.user_id);
  PARLEY_RETURN_IF_ERROR(committed);
  return revoked;
}

// Deletes the tokens of `user`'s devices that match.
Status AccountService::RemoveDevices(UserId user, std::string_view device, size_t* removed,
                                     Match match) {
  PARLEY_ASSIGN_OR_RETURN(auto devices, store_->ListDevices(user));
  std::vector<op::DeleteDevice> deletes;
  for (const auto& d : devices) {
    const bool named = device.empty() || d.device_id == device;
    if (match == Match::kOnly ? named : d.device_id != device) {
      deletes.push_back(op::DeleteDevice{d.user_id, d.device_id, d.token_digest});
    }
  }
  if (removed) *removed = deletes.size();
  if (deletes.empty()) return Status::Ok();
  Status committed = CommitAll(sequencer_, std::move(deletes));
  // Also after a failed commit: its outcome may be unknown (a lost connection to the store).
  token_cache_.ForgetUser(user);
  return committed;
}

}  // namespace parley
