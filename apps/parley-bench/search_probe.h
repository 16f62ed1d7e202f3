// SearchVisibilityProbe: how long after its ack a message can be found by search, seen
// from outside as a user would (through a load balancer that may route the sender and
// the searcher to different cluster nodes). One probe user sends a message holding a
// fresh random word every `interval`, then searches for it through several connections of
// another user in turn until it is found (or `give_up` passes); the time from the send's
// ack to the first hit is one sample. Runs on its own thread next to the load.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "latency.h"

namespace parley::bench {

struct VisibilityFigures {
  Latencies visible;  // ack -> first search hit
  int probes = 0;
  int missed = 0;  // not found within give_up
  int errors = 0;  // a send or search failed
};

class SearchVisibilityProbe {
 public:
  SearchVisibilityProbe(std::string url, std::chrono::milliseconds interval,
                        std::chrono::milliseconds give_up = std::chrono::seconds(10))
      : url_(std::move(url)), interval_(interval), give_up_(give_up) {}
  ~SearchVisibilityProbe() { Stop(); }

  void Start();
  // Ends the probing (after the probe in flight) and returns what it measured.
  VisibilityFigures Stop();

 private:
  void Run();

  const std::string url_;
  const std::chrono::milliseconds interval_, give_up_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  VisibilityFigures figures_;
};

}  // namespace parley::bench
