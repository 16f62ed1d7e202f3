#include "service/blocks.h"

#include "service/await.h"

namespace parley {

Status BlockedRefusal() { return PermissionDenied("not allowed"); }

Status BlockService::CheckUser(UserId me, UserId user) {
  if (me == user) return InvalidArgument("cannot block yourself");
  auto r = store_->GetUser(user);
  if (r.ok()) return Status::Ok();
  return r.status().code() == Code::kNotFound ? NotFound("no user " + std::to_string(user))
                                              : r.status();
}

Status BlockService::Block(UserId me, UserId user) {
  PARLEY_RETURN_IF_ERROR(CheckUser(me, user));
  // The cap is checked against durable blocks: two concurrent requests of one user may
  // pass it by one each, which keeps it a bound, not an exact count.
  PARLEY_ASSIGN_OR_RETURN(auto existing, store_->ListBlocks(me));
  auto r = Await<bool>([&](Callback<bool> cb) {
    sequencer_->SubmitFor<bool>(
        [me, user, count = existing.size()](CommitBatch& b, bool&) -> Status {
          PARLEY_ASSIGN_OR_RETURN(bool already, b.IsBlocked(me, user));
          if (already) return Status::Ok();
          if (count >= kMaxBlocksPerUser) {
            return Status(
                Code::kResourceExhausted,
                "a user may block at most " + std::to_string(kMaxBlocksPerUser) + " users");
          }
          b.SetPendingBlock(me, user, true);
          b.writes().Add(op::PutBlock{BlockRecord{me, user, b.now_ms()}});
          return Status::Ok();
        },
        std::move(cb));
  });
  return r.ok() ? Status::Ok() : r.status();
}

Status BlockService::Unblock(UserId me, UserId user) {
  PARLEY_RETURN_IF_ERROR(CheckUser(me, user));
  auto r = Await<bool>([&](Callback<bool> cb) {
    sequencer_->SubmitFor<bool>(
        [me, user](CommitBatch& b, bool&) -> Status {
          PARLEY_ASSIGN_OR_RETURN(bool blocked, b.IsBlocked(me, user));
          if (!blocked) return Status::Ok();
          b.SetPendingBlock(me, user, false);
          b.writes().Add(op::DeleteBlock{me, user});
          return Status::Ok();
        },
        std::move(cb));
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<BlockRecord>> BlockService::List(UserId me) { return store_->ListBlocks(me); }

}  // namespace parley
