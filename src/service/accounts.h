// AccountService: registration, per-device login with opaque tokens, logout, revocation.
//
// Passwords are hashed with Argon2id (about 100 ms of CPU each): Register and Login are
// blocking calls meant for a worker thread, never a network or sequencer thread.
// Tokens are 256-bit random strings; only their digest is stored.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <string_view>

#include "service/config.h"
#include "service/sequencer.h"
#include "service/types.h"
#include "store/store.h"

namespace parley {

class AccountService {
 public:
  AccountService(Store* store, Sequencer* sequencer, const ServiceConfig& config)
      : store_(store), sequencer_(sequencer), config_(config) {}

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
  Result<UserRecord> CheckPassword(std::string_view name, std::string_view password);
  // The cheap half: a new token for `device_id` of `user` (empty: a new device id),
  // replacing that device's previous one. Waits for the commit.
  Result<LoginResult> OpenDevice(UserId user, std::string_view device_id);
  // kUnauthenticated if the token is unknown or revoked.
  Result<Identity> Authenticate(std::string_view token);
  // Revokes the token of one device.
  Status Logout(const Identity& who);
  // Revokes every device of the user; returns how many.
  Result<size_t> RevokeAll(UserId user);

  Result<UserRecord> GetUser(UserId id) { return store_->GetUser(id); }
  // kNotFound for unknown (or invalid) names.
  Result<UserRecord> FindUser(std::string_view name);

 private:
  Status RemoveDevices(UserId user, std::string_view only_device, size_t* removed);
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
};

}  // namespace parley
