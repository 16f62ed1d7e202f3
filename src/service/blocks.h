// BlockService: one user refusing another (docs/protocol.md, block).
//
// A block is one-way: when A blocks B, B can no longer send A direct messages (send and
// edit in their direct conversation), open a direct conversation with A that A's list does
// not already show to B, or add A to a group (conv.create and conv.add). A keeps all of
// these abilities, and groups both already share are unaffected. The checks run in the
// sequencer, against blocks staged but not yet durable too, so a send queued after a
// block is refused. Blocks are stored in the store's block keyspace.
//
// Thread-safety: all methods are thread-safe; Block and Unblock wait until durable.
#pragma once

#include <vector>

#include "service/api.h"
#include "service/config.h"
#include "service/sequencer.h"
#include "store/store.h"

namespace parley {

// A user may block at most this many users (kResourceExhausted beyond).
inline constexpr size_t kMaxBlocksPerUser = 1000;

class BlockService final : public BlocksApi {
 public:
  BlockService(Store* store, Sequencer* sequencer) : store_(store), sequencer_(sequencer) {}

  // Idempotent. kInvalidArgument for oneself, kNotFound for an unknown user,
  // kResourceExhausted past kMaxBlocksPerUser.
  Status Block(UserId me, UserId user) override;
  // Idempotent. kNotFound for an unknown user.
  Status Unblock(UserId me, UserId user) override;
  // The users `me` blocks, ascending by user id.
  Result<std::vector<BlockRecord>> List(UserId me) override;

 private:
  Status CheckUser(UserId me, UserId user);

  Store* store_;
  Sequencer* sequencer_;
};

// The refusal a blocked user gets. It reads like any other refusal of permission, and
// names nothing about the block, so the blocked user learns only that the action is not
// allowed (docs/protocol.md, block: "what the blocked user sees").
Status BlockedRefusal();

}  // namespace parley
