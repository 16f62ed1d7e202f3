#include "service/accounts.h"

#include "common/clock.h"
#include "common/crypto.h"
#include "common/text.h"
#include "service/await.h"

namespace parley {
namespace {
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 1024;
}  // namespace

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

Result<LoginResult> AccountService::OpenDevice(UserId user, std::string_view device_id) {
  if (!device_id.empty() && !IsValidClientId(device_id, config_.max_client_id_chars)) {
    return InvalidArgument("device id must be 1-64 printable ASCII characters without spaces");
  }
  LoginResult result;
  result.user_id = user;
  result.device_id = device_id.empty() ? "dev-" + RandomHex(8) : std::string(device_id);
  result.token = RandomHex(32);
  DeviceRecord device{user, result.device_id, Digest(result.token), NowMillis()};
  std::lock_guard<std::mutex> lock(DeviceLock(user));
  PARLEY_RETURN_IF_ERROR(RemoveDevices(user, result.device_id, nullptr));
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
  return OpenDevice(user.id, device_id);
}

Result<Identity> AccountService::Authenticate(std::string_view token) {
  if (token.empty() || token.size() > 256) {
    return Status(Code::kUnauthenticated, "invalid token");
  }
  auto device = store_->FindDeviceByToken(Digest(token));
  if (!device.ok()) {
    if (device.status().code() == Code::kNotFound) {
      return Status(Code::kUnauthenticated, "unknown or revoked token");
    }
    return device.status();
  }
  return Identity{device->user_id, device->device_id};
}

Status AccountService::Logout(const Identity& who) {
  std::lock_guard<std::mutex> lock(DeviceLock(who.user_id));
  return RemoveDevices(who.user_id, who.device_id, nullptr);
}

Result<size_t> AccountService::RevokeAll(UserId user) {
  std::lock_guard<std::mutex> lock(DeviceLock(user));
  size_t removed = 0;
  PARLEY_RETURN_IF_ERROR(RemoveDevices(user, "", &removed));
  return removed;
}

// Deletes the tokens of `user`'s devices (only `only_device` when non-empty).
Status AccountService::RemoveDevices(UserId user, std::string_view only_device, size_t* removed) {
  PARLEY_ASSIGN_OR_RETURN(auto devices, store_->ListDevices(user));
  std::vector<op::DeleteDevice> deletes;
  for (const auto& d : devices) {
    if (only_device.empty() || d.device_id == only_device) {
      deletes.push_back(op::DeleteDevice{d.user_id, d.device_id, d.token_digest});
    }
  }
  if (removed) *removed = deletes.size();
  if (deletes.empty()) return Status::Ok();
  auto st = Await<bool>([&](Callback<bool> cb) {
    sequencer_->SubmitFor<bool>(
        [deletes](CommitBatch& b, bool&) -> Status {
          for (const auto& d : deletes) b.writes().Add(d);
          return Status::Ok();
        },
        std::move(cb));
  });
  return st.ok() ? Status::Ok() : st.status();
}

}  // namespace parley
