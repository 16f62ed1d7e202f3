// ConversationService: direct conversations, groups, members and roles.
//
// Role rules: the owner may do everything; admins may add members, remove plain members
// and rename; members may read, send and leave. A direct conversation has exactly two
// members forever and cannot be left. Every membership change is an inbox event for the
// affected user; in write-fan-out groups all members are told, in read-fan-out groups
// only the affected user (members see the list when they fetch it). A direct conversation
// opened by one user stays hidden from the other until its first message
// (ConversationRecord::hidden_from); blocks (service/blocks.h) refuse opens and adds.
//
// Thread-safety: all methods are thread-safe; they block until the change is durable.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/api_types.h"
#include "service/api.h"
#include "service/config.h"
#include "service/sequencer.h"
#include "store/store.h"

namespace parley {

class ConversationService final : public ConversationsApi {
 public:
  ConversationService(Store* store, Sequencer* sequencer, const ServiceConfig& config)
      : store_(store), sequencer_(sequencer), config_(config) {}

  // The one direct conversation of the pair, created on first use. A new one is shown to
  // `me` at once and to `peer` only with its first message (or when `peer` opens it too).
  // kPermissionDenied (BlockedRefusal) if `peer` blocks `me` and the conversation would be
  // created or shown to `me` by this call.
  Result<ConversationRecord> OpenDirect(UserId me, UserId peer) override;
  // `members` need not include the owner; duplicates are ignored.
  Result<ConversationRecord> CreateGroup(UserId owner, const std::string& title,
                                         const std::vector<UserId>& members) override;
  // CreateGroup and AddMembers refuse the whole request with kPermissionDenied
  // (BlockedRefusal) if a user to add blocks the one adding.
  // Members already present are skipped. kPermissionDenied unless owner/admin.
  Status AddMembers(UserId actor, ConvId conv, const std::vector<UserId>& users) override;
  Status RemoveMember(UserId actor, ConvId conv, UserId target) override;
  // The owner leaving hands ownership to the longest-serving admin, else member.
  Status Leave(UserId me, ConvId conv) override;
  Status Rename(UserId actor, ConvId conv, const std::string& title) override;
  // Owner only; `role` must be kAdmin or kMember.
  Status SetRole(UserId actor, ConvId conv, UserId target, Role role) override;

  // Membership (service/membership.h) answers NotMember for these reads.
  Result<ConversationInfo> Get(UserId me, ConvId conv) override;
  Result<std::vector<MemberRecord>> Members(UserId me, ConvId conv) override;
  // Who else should hear about `me`'s activity in `conv` (typing): the other members,
  // without a direct peer the conversation is still hidden from. kNotMember like Get.
  Result<std::vector<UserId>> Audience(UserId me, ConvId conv) override;
  Result<std::vector<ConvId>> Scope(UserId me, std::optional<ConvId> conv) override;

 private:
  Status CheckTitle(const std::string& title) const;
  Status CheckUsersExist(const std::vector<UserId>& users);
  Status Mutate(std::function<Status(CommitBatch&)> stage);

  Store* store_;
  Sequencer* sequencer_;
  ServiceConfig config_;
};

}  // namespace parley
