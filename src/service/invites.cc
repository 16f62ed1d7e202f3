#include "service/invites.h"

#include "common/clock.h"
#include "common/crypto.h"

namespace parley {
namespace {
constexpr size_t kMaxTokenBytes = 256;

Status NoInvite() { return PermissionDenied("the invite is unknown, expired or used up"); }
}  // namespace

Result<NewInvite> InviteService::Create(uint32_t uses, int64_t ttl_ms) {
  if (uses < 1 || uses > kMaxUses) return InvalidArgument("uses must be 1 to 1000000");
  if (ttl_ms < 0 || ttl_ms > kMaxTtlMs) return InvalidArgument("expiry must be 0 to 365 days");
  NewInvite out;
  out.token = "inv_" + RandomHex(16);
  out.record.token_digest = Digest(out.token);
  out.record.uses_left = uses;
  out.record.created_ms = NowMillis();
  out.record.expires_ms = ttl_ms == 0 ? 0 : out.record.created_ms + ttl_ms;
  std::lock_guard<std::mutex> lock(mu_);
  PARLEY_RETURN_IF_ERROR(store_->PutInvite(out.record));
  return out;
}

Result<InviteRecord> InviteService::Consume(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) return NoInvite();
  const std::string digest = Digest(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto invite = store_->GetInvite(digest);
  if (!invite.ok()) {
    return invite.status().code() == Code::kNotFound ? NoInvite() : invite.status();
  }
  if (invite->uses_left == 0 || (invite->expires_ms != 0 && invite->expires_ms < NowMillis())) {
    // Dead invites are removed when met; a failure here only leaves it for next time.
    (void)store_->DeleteInvite(digest);
    return NoInvite();
  }
  InviteRecord after = *invite;
  --after.uses_left;
  PARLEY_RETURN_IF_ERROR(after.uses_left == 0 ? store_->DeleteInvite(digest)
                                              : store_->PutInvite(after));
  return invite;
}

Status InviteService::Refund(const InviteRecord& taken) {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = store_->GetInvite(taken.token_digest);
  InviteRecord back = taken;
  if (now.ok()) {
    back = *now;
    ++back.uses_left;
  } else if (now.status().code() == Code::kNotFound) {
    back.uses_left = 1;  // its last use was taken: it was deleted
  } else {
    return now.status();
  }
  return store_->PutInvite(back);
}

Result<UserRecord> RegisterUnderPolicy(AccountService& accounts, InviteService& invites,
                                       RegistrationPolicy policy, std::string_view name,
                                       std::string_view password, std::string_view invite) {
  switch (policy) {
    case RegistrationPolicy::kOpen:
      return accounts.Register(name, password);
    case RegistrationPolicy::kClosed:
      return PermissionDenied("registration is closed on this server; ask an administrator");
    case RegistrationPolicy::kInvite:
      break;
  }
  if (invite.empty()) return PermissionDenied("registration needs an invite on this server");
  PARLEY_ASSIGN_OR_RETURN(InviteRecord taken, invites.Consume(invite));
  auto user = accounts.Register(name, password);
  if (!user.ok()) {
    // Best effort: if the use cannot be given back, the invite has one use fewer.
    (void)invites.Refund(taken);
  }
  return user;
}

}  // namespace parley
