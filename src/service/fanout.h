// Helpers shared by the mutating services: fan an inbox event out to conversation members
// (which event a member gets is model/inbox_events.h's rule).
// Used only inside stage functions, on the sequencer thread.
#pragma once

#include "model/inbox_events.h"
#include "service/blocks.h"
#include "service/sequencer.h"

namespace parley {

// Emits a copy of `proto` into the inbox of every current member of `conv`.
inline Status EmitToMembers(CommitBatch& batch, const ConvState& conv, InboxEvent proto) {
  for (const auto& [user, member] : conv.members) {
    proto.user_id = user;
    PARLEY_RETURN_IF_ERROR(batch.Emit(proto));
  }
  return Status::Ok();
}

// The other member of direct conversation `conv` (0 if `me` is alone in it, which a
// stored direct conversation never is).
inline UserId DirectPeer(const ConvState& conv, UserId me) {
  for (const auto& [user, member] : conv.members) {
    if (user != me) return user;
  }
  return 0;
}

// A direct message from `sender` is refused when the peer blocks them; group messages
// are not affected. kPermissionDenied (BlockedRefusal) then; store errors pass through.
inline Status CheckDirectAllowed(CommitBatch& batch, const ConvState& conv, UserId sender) {
  if (conv.conv.kind != ConvKind::kDirect) return Status::Ok();
  PARLEY_ASSIGN_OR_RETURN(bool blocked, batch.IsBlocked(DirectPeer(conv, sender), sender));
  return blocked ? BlockedRefusal() : Status::Ok();
}

// Shows a direct conversation to the member it was hidden from (ConversationRecord::
// hidden_from): their inbox gets the member_joined event they were spared at conv.open,
// before whatever `actor` does next. No-op when nothing is hidden.
inline Status RevealDirect(CommitBatch& batch, ConvState* conv, UserId actor) {
  UserId hidden = conv->conv.hidden_from;
  if (hidden == 0) return Status::Ok();
  conv->conv.hidden_from = 0;
  batch.writes().Add(op::PutConversation{conv->conv});
  InboxEvent e{};
  e.user_id = hidden;
  e.type = EventType::kMemberJoined;
  e.conv_id = conv->conv.id;
  e.conv_seq = conv->head.last_seq;
  e.actor = actor;
  e.subject = hidden;
  e.ms = batch.now_ms();
  return batch.Emit(e);
}

}  // namespace parley
