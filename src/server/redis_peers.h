// RedisPeers: the gateway's ClusterPeers over a cluster::Cluster (Redis): typing notices
// and revocations go out on the hint bus, presence to Presence, Admit to SharedLimits.
// Also the way in: Handlers() are the bus's handlers that hand what other nodes publish
// to the local hub.
//
// Thread-safety: any thread (see ClusterPeers); the handlers run on the cluster's io
// thread.
#pragma once

#include "cluster/cluster.h"
#include "gateway/cluster_peers.h"
#include "hub/hub.h"
#include "service/api.h"

namespace parley {

class RedisPeers final : public ClusterPeers {
 public:
  // `cluster` and `hub` must outlive this object.
  RedisPeers(cluster::Cluster& cluster, Hub& hub) : cluster_(cluster), hub_(hub) {}

  // What other nodes publish, into `hub`: notices (Hub::OnCommit, no origins), typing
  // (Hub::Broadcast, not to the sender's sessions), revocations (Hub::Close), and a
  // `resync` to every session after each (re)subscribe (Hub::OnGap). Revocations also drop
  // the user's cached tokens from `accounts`, and a resubscribe drops them all (hints may
  // have been lost meanwhile).
  static cluster::HintHandlers Handlers(Hub& hub, AccountsApi& accounts);

  void Typing(const std::vector<UserId>& users, const Frame& frame, UserId sender) override;
  void Revoked(UserId user, Hub::Scope scope, std::string_view device) override;
  void Online(UserId user, const std::string& device) override;
  void Offline(UserId user, const std::string& device) override;
  int64_t Admit(Limit limit, std::string_view subject) override;

 private:
  cluster::Cluster& cluster_;
  Hub& hub_;
};

}  // namespace parley
