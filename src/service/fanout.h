// Helpers shared by the mutating services: fan an inbox event out to conversation members.
// Used only inside stage functions, on the sequencer thread.
#pragma once

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

// The dedup key of (sender, client_msg_id) for the batch's pending map.
inline std::string DedupKey(UserId sender, const std::string& client_msg_id) {
  std::string k(reinterpret_cast<const char*>(&sender), sizeof(sender));
  k += client_msg_id;
  return k;
}

}  // namespace parley
