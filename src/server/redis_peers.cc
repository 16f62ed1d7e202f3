#include "server/redis_peers.h"

#include <algorithm>

namespace parley {
namespace {

Hub::Scope ToHub(cluster::RevokeScope scope) {
  switch (scope) {
    case cluster::RevokeScope::kAllDevices:
      return Hub::Scope::kAllDevices;
    case cluster::RevokeScope::kOtherDevices:
      return Hub::Scope::kOtherDevices;
    case cluster::RevokeScope::kDevice:
      break;
  }
  return Hub::Scope::kDevice;
}

cluster::RevokeScope ToBus(Hub::Scope scope) {
  switch (scope) {
    case Hub::Scope::kAllDevices:
      return cluster::RevokeScope::kAllDevices;
    case Hub::Scope::kOtherDevices:
      return cluster::RevokeScope::kOtherDevices;
    case Hub::Scope::kDevice:
      break;
  }
  return cluster::RevokeScope::kDevice;
}

}  // namespace

cluster::HintHandlers RedisPeers::Handlers(Hub& hub, AccountsApi& accounts) {
  cluster::HintHandlers h;
  // Hub::OnCommit only reads the notice and takes the hub's shard locks: safe on this
  // thread while the commit feed's thread runs it for local commits.
  h.on_notice = [&hub](const CommitNotice& notice) { hub.OnCommit(notice); };
  h.on_typing = [&hub](const cluster::TypingHint& typing) {
    std::vector<UserId> users = typing.users;
    std::erase(users, typing.sender);
    hub.Broadcast(users, std::make_shared<const std::string>(typing.frame), nullptr);
  };
  h.on_revoke = [&hub, &accounts](const cluster::RevokeHint& revoke) {
    accounts.ForgetCachedTokens(revoke.user);
    hub.Close(revoke.user, ToHub(revoke.scope), revoke.device, kCloseRevoked,
              "session revoked: on another node");
  };
  // Hints published while this node was not subscribed are lost: every session pulls.
  h.on_resubscribed = [&hub, &accounts] {
    accounts.ForgetAllCachedTokens();
    hub.OnGap();
  };
  return h;
}

void RedisPeers::Typing(const std::vector<UserId>& users, const Frame& frame, UserId sender) {
  cluster_.bus().PublishTyping(users, *frame, sender);
}

void RedisPeers::Revoked(UserId user, Hub::Scope scope, std::string_view device) {
  cluster_.bus().PublishRevoke(user, ToBus(scope), device);
}

void RedisPeers::Online(UserId user, const std::string& device) {
  cluster_.presence().DeviceOnline(user, device);
}

void RedisPeers::Offline(UserId user, const std::string& device) {
  cluster_.presence().DeviceOffline(user, device);
}

int64_t RedisPeers::Admit(Limit limit, std::string_view subject) {
  cluster::SharedLimit shared = cluster::SharedLimit::kConnect;
  if (limit == Limit::kLogin) shared = cluster::SharedLimit::kLogin;
  if (limit == Limit::kRegister) shared = cluster::SharedLimit::kRegister;
  const cluster::LimitVerdict v = cluster_.limits().Admit(shared, subject);
  return v.allowed ? 0 : std::max<int64_t>(1, v.retry_after_ms);
}

}  // namespace parley
