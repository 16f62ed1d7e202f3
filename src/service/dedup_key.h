// The key of an idempotent send, (sender, client_msg_id), in the sequencer's map of dedup
// records staged but not yet durable (CommitBatch::FindPendingDedup/AddPendingDedup).
//
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "model/records.h"

namespace parley {

// The sender's id in its native bytes, then the client's id: fixed-width, so no two
// (sender, client_msg_id) pairs share a key. Never stored: the key lives only in memory.
inline std::string DedupKey(UserId sender, const std::string& client_msg_id) {
  std::string k(reinterpret_cast<const char*>(&sender), sizeof(sender));
  k += client_msg_id;
  return k;
}

}  // namespace parley
