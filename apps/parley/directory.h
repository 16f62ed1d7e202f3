// Directory: user and conversation names for human output. Resolves ids with the `users`
// op and labels conversations from `convs`, caching both for the life of the command, so
// printing a page of 500 events costs one or two lookups, not 500.
//
// Lookups go through a client obtained from `provider` (it may return null when the
// server is unreachable); failures degrade to "user#7" / "#12", never to an error.
//
// Thread-safety: none; one thread.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "client/blocking_client.h"

namespace parley::cli {

class Directory {
 public:
  using Provider = std::function<client::BlockingClient*()>;
  Directory(Provider provider, UserId self) : provider_(std::move(provider)), self_(self) {}

  UserId self() const { return self_; }
  // Looks up all unknown ids in one call.
  void Prefetch(const std::vector<UserId>& ids);
  // Everything a page of events mentions.
  void PrefetchFor(const std::vector<SyncItem>& items);
  // "alice", or "user#7" if it cannot be resolved.
  std::string UserName(UserId id);
  // A user id from a name or a decimal id.
  Result<UserId> ResolveUser(const std::string& name_or_id);
  // "alice #3" for a direct conversation, "team #7" for a group.
  std::string ConvLabel(ConvId conv);
  // The direct conversation with `user`, from the conversation list (0 if none).
  Result<ConvId> DirectWith(UserId user);
  // Forget what `convs` said (after creating or joining conversations).
  void InvalidateConvs() { convs_loaded_ = false; }

 private:
  struct ConvInfo {
    ConvKind kind = ConvKind::kDirect;
    std::string title;
    UserId peer = 0;
  };
  bool LoadConvs();

  Provider provider_;
  UserId self_;
  std::unordered_map<UserId, std::string> names_;
  std::unordered_set<UserId> unknown_;  // asked once, not found: do not ask again
  std::unordered_map<ConvId, ConvInfo> convs_;
  std::unordered_set<ConvId> refetched_for_;  // refetch convs at most once per unknown id
  bool convs_loaded_ = false;
};

}  // namespace parley::cli
