// ClusterPeers: what the gateway tells, and asks, the other nodes of a cluster — typing
// notices and credential revocations for their sessions, presence of this node's
// devices, and limits shared across nodes. The gateway holds a pointer to one; null in
// single-node mode, where none of this exists. Node (src/server) implements it over
// Redis (src/cluster); the gateway never sees Redis.
//
// Every call returns at once (nothing waits for another node or for Redis) and may be
// made from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hub/hub.h"

namespace parley {

class ClusterPeers {
 public:
  virtual ~ClusterPeers() = default;

  // A typing notice (`frame`) for `users`' sessions on the other nodes.
  virtual void Typing(const std::vector<UserId>& users, const Frame& frame, UserId sender) = 0;
  // `user`'s credentials matching (scope, device) were revoked: the other nodes close
  // those sessions as the local hub just did.
  virtual void Revoked(UserId user, Hub::Scope scope, std::string_view device) = 0;
  // A session of `user` on `device` authenticated / ended here.
  virtual void Online(UserId user, const std::string& device) = 0;
  virtual void Offline(UserId user, const std::string& device) = 0;

  enum class Limit { kLogin, kRegister, kConnect };
  // Counts an attempt against the cross-node budget of `subject` (an account name, a
  // client address); returns 0 to go on, or the milliseconds to wait when refused. The
  // node's own limits apply as well.
  virtual int64_t Admit(Limit limit, std::string_view subject) = 0;
};

}  // namespace parley
