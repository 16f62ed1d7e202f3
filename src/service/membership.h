// The one membership rule, and the one answer to everybody it leaves out.
//
// A user is a member of a conversation when they hold a member record in it — except a
// direct conversation that the peer opened and has not written in yet, which does not
// exist for them until its first message (ConversationRecord::hidden_from). Everybody else
// gets NotMember(conv), also for a conversation that does not exist: ids reveal nothing to
// outsiders. Reads apply the rule to the store (ReadMembership). Writes (send, read, recall,
// edit) are staged on the sequencer and check the member record in its cache alone: the
// first message, from either member, is what shows a hidden direct conversation.
//
// Thread-safety: pure functions, and store reads (thread-safe).
#pragma once

#include "common/status.h"
#include "model/records.h"
#include "store/store.h"

namespace parley {

Status NotMember(ConvId conv);

struct Membership {
  ConversationRecord conv;
  MemberRecord member;
};

// The conversation and `user`'s member record if the rule lets `user` see it; NotMember
// otherwise; other store errors as they are.
Result<Membership> ReadMembership(Store& store, UserId user, ConvId conv);

}  // namespace parley
