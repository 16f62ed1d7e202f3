// Helpers shared by the mutating services: fan an inbox event out to conversation members.
// Used only inside stage functions, on the sequencer thread.
#pragma once

#include "service/blocks.h"
#include "service/sequencer.h"

namespace parley {

// Emits a copy of `proto` into the inbox of every current member of `conv`.
// The inbox event about message (conv, seq): new, recalled or edited by `actor`.
inline InboxEvent MessageEvent(EventType type, ConvId conv, Seq seq, UserId actor, int64_t ms,
                               uint64_t gseq) {
  InboxEvent e{};
  e.type = type;
  e.conv_id = conv;
  e.conv_seq = seq;
  e.actor = actor;
  e.ms = ms;
  e.gseq = gseq;
  return e;
}

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

// The dedup key of (sender, client_msg_id) for the batch's pending map.
inline std::string DedupKey(UserId sender, const std::string& client_msg_id) {
  std::string k(reinterpret_cast<const char*>(&sender), sizeof(sender));
  k += client_msg_id;
  return k;
}

}  // namespace parley
