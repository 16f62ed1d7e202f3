// Conversation ops: convs, conv.open, conv.create, conv.get, conv.members, and the
// membership changes (conv.add/remove/leave/rename/role).
#include <algorithm>

#include "gateway/dispatcher.h"
#include "protocol/encode.h"

namespace parley {
namespace {

constexpr size_t kMaxUsersPerChange = 1000;

}  // namespace

Status Dispatcher::Convs(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(auto list, api_.timeline().ListConversations(*s->state().identity));
  JsonWriter w = BeginReply(r.id);
  w.Key("conversations").BeginArray();
  for (const auto& summary : list) WriteSummary(w, summary);
  w.EndArray().EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

Status Dispatcher::ConvOpen(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(UserRef peer_ref, r.fields.User("user"));
  const UserId me = s->state().identity->user_id;
  RunOnLane(s, r, [this, s, me, id = r.id, peer_ref = std::move(peer_ref)] {
    PARLEY_ASSIGN_OR_RETURN(UserId peer, ResolveUser(peer_ref));
    PARLEY_ASSIGN_OR_RETURN(ConversationRecord c, api_.conversations().OpenDirect(me, peer));
    s->Reply(ConversationReply(id, c));
    return Status::Ok();
  });
  return Status::Ok();
}

Status Dispatcher::ConvCreate(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(std::string_view title, r.fields.String("title"));
  // Longer than any group can be (the frame size bounds the parsing): the documented
  // resource_exhausted rather than a list-length error.
  const size_t max_members = api_.config().max_group_members;
  PARLEY_ASSIGN_OR_RETURN(auto refs, r.fields.Users("members", SIZE_MAX));
  if (refs.size() >= max_members) {
    return Status(Code::kResourceExhausted,
                  "a group holds at most " + std::to_string(max_members) + " members");
  }
  const UserId me = s->state().identity->user_id;
  // Per user, whatever the connection: the group itself plus one per member listed.
  if (KeyLimited(s, r.id, user_membership_buckets_, me, 1.0 + static_cast<double>(refs.size()),
                 "membership changes")) {
    return Status::Ok();
  }
  RunOnLane(s, r, [this, s, me, id = r.id, title = std::string(title), refs = std::move(refs)] {
    PARLEY_ASSIGN_OR_RETURN(auto members, ResolveUsers(refs));
    PARLEY_ASSIGN_OR_RETURN(ConversationRecord c,
                            api_.conversations().CreateGroup(me, title, members));
    s->Reply(ConversationReply(id, c));
    return Status::Ok();
  });
  return Status::Ok();
}

Status Dispatcher::ConvGet(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(uint64_t conv, r.fields.Uint("conv"));
  const UserId me = s->state().identity->user_id;
  PARLEY_ASSIGN_OR_RETURN(ConversationInfo info, api_.conversations().Get(me, conv));
  JsonWriter w = BeginReply(r.id);
  w.Key("conversation");
  WriteConversation(w, info.conv);
  w.Key("role").String(RoleName(info.role)).EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

Status Dispatcher::ConvMembers(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(uint64_t conv, r.fields.Uint("conv"));
  PARLEY_ASSIGN_OR_RETURN(auto members,
                          api_.conversations().Members(s->state().identity->user_id, conv));
  JsonWriter w = BeginReply(r.id);
  w.Key("members").BeginArray();
  for (const auto& m : members) WriteMember(w, m);
  w.EndArray().EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

Status Dispatcher::ConvChange(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(uint64_t conv, r.fields.Uint("conv"));
  const UserId me = s->state().identity->user_id;
  ConversationsApi& convs = api_.conversations();
  // Each change is parsed here (bad input is refused before any work) and applied on a
  // worker, because it waits for its commit.
  std::function<Status()> change;
  double cost = 1;  // in members changed, for the per-user membership limit
  switch (r.op) {
    case Op::kConvAdd: {
      PARLEY_ASSIGN_OR_RETURN(auto refs, r.fields.Users("users", kMaxUsersPerChange));
      cost = static_cast<double>(std::max<size_t>(refs.size(), 1));
      change = [this, &convs, me, conv, refs = std::move(refs)] {
        PARLEY_ASSIGN_OR_RETURN(auto users, ResolveUsers(refs));
        return convs.AddMembers(me, conv, users);
      };
      break;
    }
    case Op::kConvRemove: {
      PARLEY_ASSIGN_OR_RETURN(UserRef ref, r.fields.User("user"));
      change = [this, &convs, me, conv, ref = std::move(ref)] {
        PARLEY_ASSIGN_OR_RETURN(UserId target, ResolveUser(ref));
        return convs.RemoveMember(me, conv, target);
      };
      break;
    }
    case Op::kConvLeave:
      change = [&convs, me, conv] { return convs.Leave(me, conv); };
      break;
    case Op::kConvRename: {
      PARLEY_ASSIGN_OR_RETURN(std::string_view title, r.fields.String("title"));
      change = [&convs, me, conv, title = std::string(title)] {
        return convs.Rename(me, conv, title);
      };
      break;
    }
    case Op::kConvRole: {
      PARLEY_ASSIGN_OR_RETURN(UserRef ref, r.fields.User("user"));
      PARLEY_ASSIGN_OR_RETURN(std::string_view role_name, r.fields.String("role"));
      // Ownership moves only with the owner leaving, so "owner" is not a role to set.
      std::optional<Role> role = ParseRole(role_name);
      if (!role || *role == Role::kOwner) {
        return Status(Code::kInvalidArgument, "role must be \"admin\" or \"member\"");
      }
      change = [this, &convs, me, conv, role = *role, ref = std::move(ref)] {
        PARLEY_ASSIGN_OR_RETURN(UserId target, ResolveUser(ref));
        return convs.SetRole(me, conv, target, role);
      };
      break;
    }
    default:
      return Status(Code::kUnknownOp, "unknown op");
  }
  if (KeyLimited(s, r.id, user_membership_buckets_, me, cost, "membership changes")) {
    return Status::Ok();
  }
  RunOnLane(s, r, [s, id = r.id, change = std::move(change)] {
    PARLEY_RETURN_IF_ERROR(change());
    s->Reply(EmptyReply(id));
    return Status::Ok();
  });
  return Status::Ok();
}

}  // namespace parley
