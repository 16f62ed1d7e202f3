// InviteService: invitations to register, for `[accounts] registration = "invite"`, and
// the registration policy itself (RegisterUnderPolicy).
//
// An invite is a random token handed out once (`parley admin invite`, POST /admin/invites)
// that allows `uses` registrations until it expires. The store keeps only the token's
// digest, so invites survive restarts and a copy of the data reveals none. Taking a use
// and writing the decremented record happen under one mutex, so a single-use invite
// registers exactly one account however many clients race with it. A use taken for a
// registration that then fails (name taken, bad password) is given back; a crash between
// the two loses that one use (the admin makes a new invite).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "service/accounts.h"
#include "service/config.h"
#include "store/store.h"

namespace parley {

struct NewInvite {
  std::string token;  // shown once; not stored
  InviteRecord record;
};

class InviteService {
 public:
  static constexpr uint32_t kMaxUses = 1'000'000;
  static constexpr int64_t kMaxTtlMs = 365LL * 86400 * 1000;

  explicit InviteService(Store* store) : store_(store) {}

  // A new invite for `uses` registrations (1..kMaxUses), valid for `ttl_ms` (0: no expiry;
  // at most kMaxTtlMs). kInvalidArgument out of range; kIOError if it cannot be stored.
  Result<NewInvite> Create(uint32_t uses, int64_t ttl_ms);
  // Takes one use of `token` and returns the invite as it was before. kPermissionDenied
  // for an unknown, expired or used-up token (one message for all: no oracle).
  Result<InviteRecord> Consume(std::string_view token);
  // Gives back the use taken by Consume (which returned `taken`).
  Status Refund(const InviteRecord& taken);

 private:
  Store* store_;
  std::mutex mu_;  // serialises read-modify-write of invite records
};

// Registers `name` as `policy` allows: kOpen anyone; kInvite only with a valid `invite`
// (one use is taken, and given back if the registration fails); kClosed nobody.
// kPermissionDenied when the policy refuses (message says why); else as
// AccountService::Register.
Result<UserRecord> RegisterUnderPolicy(AccountService& accounts, InviteService& invites,
                                       RegistrationPolicy policy, std::string_view name,
                                       std::string_view password, std::string_view invite);

}  // namespace parley
