// AccountService: registration, per-device login with opaque tokens, logout, revocation.
//
// Passwords are hashed with Argon2id (about 100 ms of CPU each): Register and Login are
// blocking calls meant for a worker thread, never a network or sequencer thread.
// Tokens are 256-bit random strings; only their digest is stored.
//
// Token lifetime: a token unused for config.token_ttl_ms expires (0: never). Every use
// slides it: Authenticate reports when the device's last-seen time is due for an update
// and Touch writes it — at most once per TouchInterval() per device (an hour, or less for
// short lifetimes), so a busy device does not cost a store write per auth.
//
// The live sessions of revoked devices are the caller's to close (the hub): this service
// only changes what is stored.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "model/api_types.h"
#include "service/api.h"
#include "service/config.h"
#include "service/sequencer.h"
#include "service/token_cache.h"
#include "store/store.h"

namespace parley {

class AccountService final : public AccountsApi {
 public:
  AccountService(Store* store, Sequencer* sequencer, const ServiceConfig& config)
      : store_(store),
        sequencer_(sequencer),
        config_(config),
        token_cache_(config.token_cache_ms, kTokenCacheEntries),
        now_ms_(NowMillis) {}

  // kInvalidArgument for a bad name or password, kAlreadyExists if the name is taken.
  Result<UserRecord> Register(std::string_view name, std::string_view password);
  // Registers with an already computed Argon2id hash (bulk provisioning, import).
  Result<UserRecord> RegisterWithHash(std::string_view name, std::string password_hash);
  // `device_id` empty: a new one is generated. Logging in again on the same device id
  // replaces its previous token. kUnauthenticated on an unknown name or wrong password.
  // = CheckPassword, then OpenDevice.
  Result<LoginResult> Login(std::string_view name, std::string_view password,
                            std::string_view device_id);
  // The password check of a login (the expensive half: one Argon2id verification, run on
  // a hashing thread). An unknown name is verified against a dummy hash of the configured
  // cost, so it costs as much as a known one and timing does not tell which names exist.
  // kUnauthenticated on an unknown name or wrong password (the same message for both).
  Result<UserRecord> CheckPassword(std::string_view name, std::string_view password) override;
  // The cheap half: a new token for `device_id` of `user` (empty: a new device id),
  // replacing that device's previous one. Waits for the commit.
  // kUnauthenticated if the password changed since `user` was read (a token from the old
  // password is never issued after a change revoked every device).
  Result<LoginResult> OpenDevice(const UserRecord& user, std::string_view device_id) override;
  // kUnauthenticated if the token is unknown, revoked or expired.
  Result<Identity> Authenticate(std::string_view token) override;
  // The same check, telling an expired token and a due last-seen update apart; unknown or
  // revoked tokens are kUnauthenticated. A store read, no write: network threads may call it.
  Result<TokenCheck> CheckToken(std::string_view token) override;
  // Records a use of `who`'s token now (if its last-seen time is due). An expired token is
  // deleted and kUnauthenticated returned; kNotFound if the device is gone (revoked).
  // Blocking (waits for the commit): worker threads only.
  Status Touch(const Identity& who) override;
  // Revokes the token of one device.
  Status Logout(const Identity& who) override;
  // Revokes the token of one device; kNotFound if the user has no such device.
  Status RevokeDevice(UserId user, std::string_view device_id) override;
  // Revokes every device of the user; returns how many.
  Result<size_t> RevokeAll(UserId user);
  // Revokes every device of the user but `keep`; returns how many.
  Result<size_t> RevokeOthers(UserId user, std::string_view keep);
  // The user's logged-in devices, by device id.
  Result<std::vector<DeviceRecord>> Devices(UserId user) override {
    return store_->ListDevices(user);
  }
  // Checks `old_password`, stores the Argon2id hash of `new_password` and revokes every
  // device of the user but `who.device_id`, in one commit. kUnauthenticated for a wrong old
  // password, kInvalidArgument for a new one out of bounds. Two hash computations: worker
  // threads only.
  // Returns how many devices were revoked.
  Result<size_t> ChangePassword(const Identity& who, std::string_view old_password,
                                std::string_view new_password) override;

  // How often a device's last-seen time is written at most.
  int64_t TouchInterval() const override;
  // Replaces the wall clock (milliseconds since the epoch) in tests.
  void SetClockForTest(std::function<int64_t()> now_ms) { now_ms_ = std::move(now_ms); }

  Result<UserRecord> GetUser(UserId id) override { return store_->GetUser(id); }
  // kNotFound for unknown (or invalid) names.
  Result<UserRecord> FindUser(std::string_view name) override;

  // Another node changed `user`'s devices (a revocation hint): forget what is cached.
  void ForgetCachedTokens(UserId user) override { token_cache_.ForgetUser(user); }
  // Revocation hints may have been lost (Redis reconnected): forget every cached token.
  void ForgetAllCachedTokens() override { token_cache_.Clear(); }
  size_t cached_tokens() const { return token_cache_.size(); }

 private:
  static constexpr size_t kTokenCacheEntries = 200000;

  // Deletes the tokens of `user`'s devices: only `device` (kOnly), all but it (kAllBut),
  // or all (device empty, kOnly). Device lock held.
  enum class Match { kOnly, kAllBut };
  Status RemoveDevices(UserId user, std::string_view device, size_t* removed,
                       Match match = Match::kOnly);
  bool Expired(const DeviceRecord& d, int64_t now) const {
    return config_.token_ttl_ms > 0 && now - d.last_seen_ms > config_.token_ttl_ms;
  }
  // Serialises one user's device changes (login's replace, logout, revocation): each reads
  // the user's devices, then commits. Interleaved, two of them could leave a token whose
  // device row is gone or overwritten, which no logout or revocation could reach.
  std::mutex& DeviceLock(UserId user) { return device_locks_[user % device_locks_.size()]; }

  // A hash of a random password at the configured cost, made on first use.
  const std::string& DummyHash();

  Store* store_;
  Sequencer* sequencer_;
  ServiceConfig config_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;  // written once under dummy_once_
  std::array<std::mutex, 64> device_locks_;
  TokenCache token_cache_;
  std::function<int64_t()> now_ms_;
};

}  // namespace parley
