// Per-stage latency of the message path: one histogram family,
// parley_stage_seconds{stage="..."}, shared by every component a message crosses, so a
// scrape (or parley-bench, which prints it) shows where the time of one message goes.
//
// Stages of a send, in order (docs/architecture.md "Where the time goes"):
//   frame_parse   a frame read off the socket -> its request parsed and dispatched
//   queue_wait    handed to the sequencer -> taken into a batch
//   stage         the batch's stage functions (per batch)
//   store_write   the batch's Store::Apply without its fsync (per batch)
//   fsync         the batch's fsync (per durable batch)
//   ack_post      the batch durable -> the ack queued on the session's thread
//   ack_write     the ack queued -> written to the socket
// and of the pushes it causes:
//   feed_wait     the batch durable -> the commit feed starts delivering it
//   hub           the hub's work for one commit (encode, look up, hand over)
//   push_post     handed over by the hub -> queued on the session's thread
//   push_write    queued -> written to the socket
//
// Thread-safety: StageHistogram registers (takes the registry's lock): call it once at
// start-up and keep the reference; Observe is lock-free from any thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "metrics/metrics.h"

namespace parley::metrics {

// 10 µs to 5 s: fine enough below a millisecond, where a healthy message path lives.
inline std::vector<double> StageBounds() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
          0.01,    0.025,    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5};
}

inline Histogram& StageHistogram(Registry& registry, const std::string& stage) {
  return registry.histogram("parley_stage_seconds",
                            "Latency of each stage of the message path (metrics/stages.h).",
                            StageBounds(), {{"stage", stage}});
}

// A steady-clock duration in seconds, as histograms take it.
inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Seconds from `start` to now on the steady clock.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return Seconds(std::chrono::steady_clock::now() - start);
}

}  // namespace parley::metrics
