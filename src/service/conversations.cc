#include "service/conversations.h"

#include <algorithm>
#include <unordered_set>

#include "common/text.h"
#include "service/await.h"
#include "service/fanout.h"
#include "service/membership.h"

namespace parley {
namespace {

std::string PairKey(UserId a, UserId b) {
  if (a > b) std::swap(a, b);
  return std::to_string(a) + ":" + std::to_string(b);
}

// Loads a group conversation and checks that `actor` holds at least `min_role`.
Result<ConvState*> GroupForActor(CommitBatch& b, ConvId id, UserId actor, Role min_role) {
  auto found = b.Conv(id);
  // An unknown conversation answers like a foreign one: ids reveal nothing to outsiders.
  if (!found.ok() && found.status().code() != Code::kNotFound) return found.status();
  if (!found.ok() || !(*found)->IsMember(actor)) return NotMember(id);
  ConvState* conv = *found;
  auto it = conv->members.find(actor);
  if (conv->conv.kind != ConvKind::kGroup) {
    return Status(Code::kFailedPrecondition, "direct conversations have fixed members");
  }
  if (static_cast<int>(it->second.role) < static_cast<int>(min_role)) {
    return PermissionDenied("needs the group's owner or an admin");
  }
  return conv;
}

// A membership or settings event about `conv`, not yet addressed to an inbox.
InboxEvent ConvEvent(CommitBatch& b, const ConvState& conv, EventType type, UserId actor,
                     UserId subject) {
  InboxEvent e{};
  e.type = type;
  e.conv_id = conv.conv.id;
  e.conv_seq = conv.head.last_seq;
  e.actor = actor;
  e.subject = subject;
  e.ms = b.now_ms();
  return e;
}

// Adds `user` to `conv` (staging the member rows) and emits the join events.
Status StageJoin(CommitBatch& b, ConvState* conv, UserId user, Role role, UserId actor) {
  MemberRecord m{conv->conv.id, user, role, b.now_ms(), conv->conv.read_fanout};
  conv->members[user] = m;
  conv->member_ids.reset();  // the hub's snapshot is stale now
  b.writes().Add(op::PutMember{m});
  InboxEvent e = ConvEvent(b, *conv, EventType::kMemberJoined, actor, user);
  if (conv->conv.read_fanout) {
    e.user_id = user;
    return b.Emit(e);
  }
  return EmitToMembers(b, *conv, e);
}

// Removes `user` from `conv` and emits the leave events (the leaver is told too).
Status StageLeave(CommitBatch& b, ConvState* conv, UserId user, UserId actor) {
  InboxEvent e = ConvEvent(b, *conv, EventType::kMemberLeft, actor, user);
  if (conv->conv.read_fanout) {
    e.user_id = user;
    PARLEY_RETURN_IF_ERROR(b.Emit(e));
  } else {
    PARLEY_RETURN_IF_ERROR(EmitToMembers(b, *conv, e));
  }
  conv->members.erase(user);
  conv->member_ids.reset();
  b.writes().Add(op::DeleteMember{conv->conv.id, user});
  return Status::Ok();
}

// Rewrites the conversation record with its current member count and fan-out mode,
// switching to read fan-out once the group outgrows `threshold`.
void StageConvRecord(CommitBatch& b, ConvState* conv, size_t threshold) {
  conv->conv.member_count = static_cast<uint32_t>(conv->members.size());
  if (!conv->conv.read_fanout && conv->members.size() > threshold) {
    conv->conv.read_fanout = true;
    for (auto& [user, m] : conv->members) {
      m.read_fanout = true;
      b.writes().Add(op::PutMember{m});
    }
  }
  b.writes().Add(op::PutConversation{conv->conv});
}

// Group adds by `actor` are refused if any of `users` blocks the actor (the whole request,
// so that nothing is half done).
Status CheckAddAllowed(CommitBatch& b, UserId actor, const std::vector<UserId>& users) {
  for (UserId u : users) {
    PARLEY_ASSIGN_OR_RETURN(bool blocked, b.IsBlocked(u, actor));
    if (blocked) return BlockedRefusal();
  }
  return Status::Ok();
}

Status EmitConvUpdated(CommitBatch& b, ConvState* conv, UserId actor, UserId subject) {
  return EmitToMembers(b, *conv, ConvEvent(b, *conv, EventType::kConvUpdated, actor, subject));
}

}  // namespace

Status ConversationService::Mutate(std::function<Status(CommitBatch&)> stage) {
  auto r = Await<bool>([&](Callback<bool> cb) {
    sequencer_->SubmitFor<bool>(
        [stage = std::move(stage)](CommitBatch& b, bool&) { return stage(b); }, std::move(cb));
  });
  return r.ok() ? Status::Ok() : r.status();
}

Status ConversationService::CheckTitle(const std::string& title) const {
  if (title.empty() || title.size() > config_.max_title_bytes) {
    return InvalidArgument("title must be 1 to " + std::to_string(config_.max_title_bytes) +
                           " bytes");
  }
  if (!IsValidUtf8(title)) return Status(Code::kInvalidUtf8, "title is not valid UTF-8");
  return Status::Ok();
}

Status ConversationService::CheckUsersExist(const std::vector<UserId>& users) {
  for (UserId u : users) {
    auto r = store_->GetUser(u);
    if (!r.ok()) {
      return r.status().code() == Code::kNotFound ? NotFound("no user " + std::to_string(u))
                                                  : r.status();
    }
  }
  return Status::Ok();
}

Result<ConversationRecord> ConversationService::OpenDirect(UserId me, UserId peer) {
  if (me == peer) return InvalidArgument("a direct conversation needs another user");
  if (auto existing = store_->FindDirect(me, peer); existing.ok()) {
    auto conv = store_->GetConversation(*existing);
    // Hidden from me (the peer opened it and wrote nothing yet): opening it shows it to me,
    // which is a write.
    if (!conv.ok() || conv->hidden_from != me) return conv;
  }
  PARLEY_RETURN_IF_ERROR(CheckUsersExist({peer}));
  return Await<ConversationRecord>([&](Callback<ConversationRecord> cb) {
    sequencer_->SubmitFor<ConversationRecord>(
        [me, peer](CommitBatch& b, ConversationRecord& out) -> Status {
          // Another request may have created it since we looked.
          std::string key = PairKey(me, peer);
          ConvId existing = 0;
          if (auto pending = b.FindPendingDirect(key)) {
            existing = *pending;
          } else if (auto found = b.store().FindDirect(me, peer); found.ok()) {
            existing = *found;
          }
          if (existing != 0) {
            PARLEY_ASSIGN_OR_RETURN(ConvState * conv, b.Conv(existing));
            if (conv->conv.hidden_from == me) {
              // Showing it to me is like opening it anew: refused if the peer blocks me.
              PARLEY_ASSIGN_OR_RETURN(bool blocked, b.IsBlocked(peer, me));
              if (blocked) return BlockedRefusal();
              PARLEY_RETURN_IF_ERROR(RevealDirect(b, conv, me));
            }
            out = conv->conv;
            return Status::Ok();
          }
          PARLEY_ASSIGN_OR_RETURN(bool blocked, b.IsBlocked(peer, me));
          if (blocked) return BlockedRefusal();
          ConversationRecord rec;
          rec.id = b.NextConvId();
          rec.kind = ConvKind::kDirect;
          rec.created_ms = b.now_ms();
          rec.member_count = 2;
          // The peer sees it with the first message (or by opening it too), not before.
          rec.hidden_from = peer;
          ConvState* conv = b.AddConv(rec);
          conv->head.last_ms = b.now_ms();
          b.AddPendingDirect(key, rec.id);
          b.writes().Add(op::PutConversation{rec});
          b.writes().Add(op::PutDirectPair{std::min(me, peer), std::max(me, peer), rec.id});
          b.MarkHeadDirty(conv);
          conv->members[me] = MemberRecord{rec.id, me, Role::kMember, b.now_ms(), false};
          conv->members[peer] = MemberRecord{rec.id, peer, Role::kMember, b.now_ms(), false};
          for (auto& [u, m] : conv->members) b.writes().Add(op::PutMember{m});
          InboxEvent e{};
          e.user_id = me;
          e.type = EventType::kMemberJoined;
          e.conv_id = rec.id;
          e.actor = me;
          e.subject = me;
          e.ms = b.now_ms();
          PARLEY_RETURN_IF_ERROR(b.Emit(e));
          out = rec;
          return Status::Ok();
        },
        std::move(cb));
  });
}

Result<ConversationRecord> ConversationService::CreateGroup(UserId owner, const std::string& title,
                                                            const std::vector<UserId>& members) {
  PARLEY_RETURN_IF_ERROR(CheckTitle(title));
  std::vector<UserId> all;
  std::unordered_set<UserId> seen{owner};
  for (UserId u : members) {
    if (seen.insert(u).second) all.push_back(u);
  }
  if (all.size() + 1 > config_.max_group_members) {
    return Status(
        Code::kResourceExhausted,
        "a group holds at most " + std::to_string(config_.max_group_members) + " members");
  }
  PARLEY_RETURN_IF_ERROR(CheckUsersExist(all));
  size_t threshold = config_.read_fanout_threshold;
  return Await<ConversationRecord>([&](Callback<ConversationRecord> cb) {
    sequencer_->SubmitFor<ConversationRecord>(
        [owner, title, all, threshold](CommitBatch& b, ConversationRecord& out) -> Status {
          PARLEY_RETURN_IF_ERROR(CheckAddAllowed(b, owner, all));
          ConversationRecord rec;
          rec.id = b.NextConvId();
          rec.kind = ConvKind::kGroup;
          rec.title = title;
          rec.owner = owner;
          rec.created_ms = b.now_ms();
          rec.member_count = static_cast<uint32_t>(all.size() + 1);
          rec.read_fanout = rec.member_count > threshold;
          ConvState* conv = b.AddConv(rec);
          conv->head.last_ms = b.now_ms();
          b.MarkHeadDirty(conv);
          b.writes().Add(op::PutConversation{rec});
          auto join = [&](UserId u, Role role) -> Status {
            MemberRecord m{rec.id, u, role, b.now_ms(), rec.read_fanout};
            conv->members[u] = m;
            b.writes().Add(op::PutMember{m});
            InboxEvent e{};
            e.user_id = u;
            e.type = EventType::kMemberJoined;
            e.conv_id = rec.id;
            e.actor = owner;
            e.subject = u;
            e.ms = b.now_ms();
            return b.Emit(e);
          };
          PARLEY_RETURN_IF_ERROR(join(owner, Role::kOwner));
          for (UserId u : all) PARLEY_RETURN_IF_ERROR(join(u, Role::kMember));
          out = rec;
          return Status::Ok();
        },
        std::move(cb));
  });
}

Status ConversationService::AddMembers(UserId actor, ConvId id, const std::vector<UserId>& users) {
  PARLEY_RETURN_IF_ERROR(CheckUsersExist(users));
  ServiceConfig cfg = config_;
  return Mutate([=](CommitBatch& b) -> Status {
    PARLEY_ASSIGN_OR_RETURN(ConvState * conv, GroupForActor(b, id, actor, Role::kAdmin));
    std::vector<UserId> fresh;
    for (UserId u : users) {
      if (!conv->IsMember(u) && std::find(fresh.begin(), fresh.end(), u) == fresh.end()) {
        fresh.push_back(u);
      }
    }
    if (conv->members.size() + fresh.size() > cfg.max_group_members) {
      return Status(Code::kResourceExhausted,
                    "a group holds at most " + std::to_string(cfg.max_group_members) + " members");
    }
    if (fresh.empty()) return Status::Ok();
    PARLEY_RETURN_IF_ERROR(CheckAddAllowed(b, actor, fresh));
    for (UserId u : fresh) PARLEY_RETURN_IF_ERROR(StageJoin(b, conv, u, Role::kMember, actor));
    StageConvRecord(b, conv, cfg.read_fanout_threshold);
    return Status::Ok();
  });
}

Status ConversationService::RemoveMember(UserId actor, ConvId id, UserId target) {
  if (actor == target) return Leave(actor, id);
  size_t threshold = config_.read_fanout_threshold;
  return Mutate([=](CommitBatch& b) -> Status {
    PARLEY_ASSIGN_OR_RETURN(ConvState * conv, GroupForActor(b, id, actor, Role::kAdmin));
    auto it = conv->members.find(target);
    if (it == conv->members.end()) {
      return Status(Code::kNotMember, "user " + std::to_string(target) + " is not a member");
    }
    Role actor_role = conv->members[actor].role;
    if (it->second.role != Role::kMember && actor_role != Role::kOwner) {
      return PermissionDenied("only the owner may remove an admin");
    }
    if (it->second.role == Role::kOwner) return PermissionDenied("the owner cannot be removed");
    PARLEY_RETURN_IF_ERROR(StageLeave(b, conv, target, actor));
    StageConvRecord(b, conv, threshold);
    return Status::Ok();
  });
}

Status ConversationService::Leave(UserId me, ConvId id) {
  size_t threshold = config_.read_fanout_threshold;
  return Mutate([=](CommitBatch& b) -> Status {
    PARLEY_ASSIGN_OR_RETURN(ConvState * conv, GroupForActor(b, id, me, Role::kMember));
    bool was_owner = conv->members[me].role == Role::kOwner;
    PARLEY_RETURN_IF_ERROR(StageLeave(b, conv, me, me));
    if (was_owner && !conv->members.empty()) {
      // Hand over to the longest-serving admin, else the longest-serving member.
      MemberRecord* heir = nullptr;
      for (auto& [u, m] : conv->members) {
        auto rank = [](const MemberRecord& r) {
          return std::make_tuple(-static_cast<int>(r.role), r.joined_ms, r.user_id);
        };
        if (heir == nullptr || rank(m) < rank(*heir)) heir = &m;
      }
      heir->role = Role::kOwner;
      conv->conv.owner = heir->user_id;
      b.writes().Add(op::PutMember{*heir});
      PARLEY_RETURN_IF_ERROR(EmitConvUpdated(b, conv, me, heir->user_id));
    } else if (was_owner) {
      conv->conv.owner = 0;
    }
    StageConvRecord(b, conv, threshold);
    return Status::Ok();
  });
}

Status ConversationService::Rename(UserId actor, ConvId id, const std::string& title) {
  PARLEY_RETURN_IF_ERROR(CheckTitle(title));
  return Mutate([=](CommitBatch& b) -> Status {
    PARLEY_ASSIGN_OR_RETURN(ConvState * conv, GroupForActor(b, id, actor, Role::kAdmin));
    conv->conv.title = title;
    b.writes().Add(op::PutConversation{conv->conv});
    return EmitConvUpdated(b, conv, actor, 0);
  });
}

Status ConversationService::SetRole(UserId actor, ConvId id, UserId target, Role role) {
  if (role == Role::kOwner) return InvalidArgument("role must be admin or member");
  return Mutate([=](CommitBatch& b) -> Status {
    PARLEY_ASSIGN_OR_RETURN(ConvState * conv, GroupForActor(b, id, actor, Role::kOwner));
    auto it = conv->members.find(target);
    if (it == conv->members.end()) {
      return Status(Code::kNotMember, "user " + std::to_string(target) + " is not a member");
    }
    if (it->second.role == Role::kOwner) return PermissionDenied("the owner's role is fixed");
    if (it->second.role == role) return Status::Ok();
    it->second.role = role;
    b.writes().Add(op::PutMember{it->second});
    return EmitConvUpdated(b, conv, actor, target);
  });
}

Result<ConversationInfo> ConversationService::Get(UserId me, ConvId id) {
  PARLEY_ASSIGN_OR_RETURN(Membership m, ReadMembership(*store_, me, id));
  return ConversationInfo{std::move(m.conv), m.member.role};
}

Result<std::vector<ConvId>> ConversationService::Scope(UserId me, std::optional<ConvId> only) {
  std::vector<ConvId> scope;
  if (only) {
    PARLEY_RETURN_IF_ERROR(ReadMembership(*store_, me, *only).status());
    scope.push_back(*only);
    return scope;
  }
  // Every member record, without reading each conversation for the hidden rule: a direct
  // conversation still hidden from `me` has no message yet, so it adds nothing to a search.
  PARLEY_ASSIGN_OR_RETURN(auto memberships, store_->ListUserConversations(me));
  scope.reserve(memberships.size());
  for (const MemberRecord& m : memberships) scope.push_back(m.conv_id);
  return scope;
}

Result<std::vector<UserId>> ConversationService::Audience(UserId me, ConvId id) {
  PARLEY_ASSIGN_OR_RETURN(Membership mine, ReadMembership(*store_, me, id));
  const ConversationRecord& conv = mine.conv;
  PARLEY_ASSIGN_OR_RETURN(auto members, store_->ListMembers(id));
  std::vector<UserId> out;
  out.reserve(members.size());
  for (const auto& m : members) {
    if (m.user_id != me && m.user_id != conv.hidden_from) out.push_back(m.user_id);
  }
  return out;
}

Result<std::vector<MemberRecord>> ConversationService::Members(UserId me, ConvId id) {
  PARLEY_RETURN_IF_ERROR(ReadMembership(*store_, me, id).status());
  return store_->ListMembers(id);
}

}  // namespace parley
