#include "gateway/push_batch.h"

#include "protocol/encode.h"

namespace parley {

size_t NextWriteCount(const std::deque<OutFrame>& outbox, bool batching,
                      const PushBatchLimits& limits) {
  if (outbox.empty()) return 0;
  if (!batching || !outbox.front().push) return 1;
  // The frame's size as it grows: the envelope, then each push and its comma.
  size_t bytes = kPushBatchOpen.size() + kPushBatchClose.size() + outbox.front().frame->size();
  size_t n = 1;
  while (n < outbox.size() && n < limits.max_pushes && outbox[n].push) {
    bytes += 1 + outbox[n].frame->size();
    if (bytes > limits.max_bytes) break;
    ++n;
  }
  return n;
}

void JoinPushes(const std::deque<OutFrame>& outbox, size_t count, std::string* out) {
  out->clear();
  out->append(kPushBatchOpen);
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out->push_back(',');
    out->append(*outbox[i].frame);
  }
  out->append(kPushBatchClose);
}

}  // namespace parley
