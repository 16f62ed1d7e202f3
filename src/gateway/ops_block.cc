// Block ops: block, unblock and blocks (docs/protocol.md, block). The changes wait for
// their commit, so they run on a worker, in order with the connection's other writes.
#include "gateway/dispatcher.h"
#include "protocol/encode.h"

namespace parley {

Status Dispatcher::BlockChange(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(UserRef ref, r.fields.User("user"));
  const UserId me = s->state().identity->user_id;
  const bool block = r.op == Op::kBlock;
  RunOnLane(s, r, [this, s, me, block, id = r.id, ref = std::move(ref)] {
    PARLEY_ASSIGN_OR_RETURN(UserId user, ResolveUser(ref));
    BlocksApi& blocks = api_.blocks();
    PARLEY_RETURN_IF_ERROR(block ? blocks.Block(me, user) : blocks.Unblock(me, user));
    s->Reply(EmptyReply(id));
    return Status::Ok();
  });
  return Status::Ok();
}

Status Dispatcher::Blocks(const Link& s, const ParsedRequest& r) {
  const UserId me = s->state().identity->user_id;
  RunOnLane(s, r, [this, s, me, id = r.id] {
    PARLEY_ASSIGN_OR_RETURN(auto list, api_.blocks().List(me));
    JsonWriter w = BeginReply(id);
    w.Key("blocks").BeginArray();
    for (const BlockRecord& b : list) {
      auto user = api_.accounts().GetUser(b.blocked);
      w.BeginObject().Key("user").Uint(b.blocked);
      w.Key("name").String(user.ok() ? user->name : std::string());
      w.Key("since_ts").Int(b.created_ms).EndObject();
    }
    w.EndArray().EndObject();
    s->Reply(w.Take());
    return Status::Ok();
  });
  return Status::Ok();
}

}  // namespace parley
