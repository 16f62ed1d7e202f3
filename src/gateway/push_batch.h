// Push batching: which queued frames of a session's outbox go out in its next write, and
// the one frame a run of pushes becomes ({"push":"events","events":[P1,P2,…]},
// docs/protocol.md §1). Kept apart from the WebSocket session (no Beast) so the rule is
// tested on its own, deterministically.
//
// The rule: a reply is always written alone, and so is every frame of a session that did
// not ask for batches. Otherwise the pushes at the front of the outbox — up to the first
// reply, at most PushBatchLimits of them — go out together; one push alone keeps its
// single form. Frames never change order, so a push queued after a reply is written after
// it.
//
// Thread-safety: pure functions over the caller's data.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>

#include "hub/hub.h"  // Frame

namespace parley {

// One frame waiting in a session's outbox.
struct OutFrame {
  Frame frame;
  bool push = false;  // a push (may be batched) rather than a reply (never merged)
  std::chrono::steady_clock::time_point queued{};  // for the ack_write / push_write stages
};

struct PushBatchLimits {
  size_t max_pushes = 256;        // Default: 256 pushes per batch frame.
  size_t max_bytes = 256 * 1024;  // Default: 256 KiB per batch frame (a larger push goes alone).
};

// How many frames from the front of `outbox` the next write takes: 0 if it is empty, 1
// for a reply, a lone push or a session without batches (`batching` false), else the run
// of pushes at the front that fits `limits`.
size_t NextWriteCount(const std::deque<OutFrame>& outbox, bool batching,
                      const PushBatchLimits& limits);

// The batch frame of the first `count` frames of `outbox` (all pushes), into `out`
// (cleared first; its capacity is reused). The pushes are copied as they were encoded.
void JoinPushes(const std::deque<OutFrame>& outbox, size_t count, std::string* out);

}  // namespace parley
