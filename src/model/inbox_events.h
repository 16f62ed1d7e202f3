// The inbox events a conversation's members get for its messages and read cursors, on model
// types: the one statement of these rules. The services apply them when they commit
// (service/fanout.h, service/messaging.cc); the importer applies them when it rebuilds
// every member's inbox from an export (backup/import.cc), so that an imported store holds
// what the service would have written.
//
// The rules:
// - A new message gives every member an event (kMessage) in a write-fan-out conversation;
//   in a read-fan-out one (ConversationRecord::read_fanout) no inbox gets it, and members
//   read the conversation's timeline instead.
// - A recall or an edit gives every member an event (kRecall, kEdit), whatever the mode.
// - A read cursor moving gives the reader an event (kRead, for their other devices) and, in
//   a direct conversation only, the peer a receipt (kReceipt).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "model/records.h"

namespace parley {

// The event about message (conv, seq) of `type` kMessage, kRecall or kEdit: `actor` sent,
// recalled or edited it at `ms`, and `gseq` is that change's global sequence number (a new
// message's msg_id). Not yet addressed: the caller sets user_id for each member.
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

// Whether the peer of a conversation of `kind` is told when a member reads (kReceipt).
inline bool HasReadReceipts(ConvKind kind) { return kind == ConvKind::kDirect; }

// `reader`'s own event: they read conversation `conv` up to `seq` at `ms`.
inline InboxEvent ReadEvent(UserId reader, ConvId conv, Seq seq, int64_t ms) {
  InboxEvent e{};
  e.user_id = reader;
  e.type = EventType::kRead;
  e.conv_id = conv;
  e.conv_seq = seq;
  e.actor = reader;
  e.ms = ms;
  return e;
}

// `peer`'s receipt: `reader`, the other member of direct conversation `conv`, read it up
// to `seq` at `ms`.
inline InboxEvent ReceiptEvent(UserId peer, UserId reader, ConvId conv, Seq seq, int64_t ms) {
  InboxEvent e = ReadEvent(reader, conv, seq, ms);
  e.user_id = peer;
  e.type = EventType::kReceipt;
  return e;
}

}  // namespace parley
