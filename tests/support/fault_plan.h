// The plan file of the fault tests' client process (fault_clients_main.cc): written by the
// test (fault_clients.h), read by the process. One directive per line, fields separated by
// spaces:
//   url ws://HOST:PORT/ws
//   heartbeat IDLE_MS TIMEOUT_MS      (ReliableClient::Options heartbeat_*)
//   backoff MIN_MS MAX_MS
//   timeouts CONNECT_MS CALL_MS
//   interval MS                        (between two sends of one sender)
//   client NAME TOKEN DEVICE CONV SENDS   (CONV 0 / SENDS 0: a receiver only)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/records.h"

namespace parley::test {

struct FaultClientPlan {
  std::string name;  // unique, no spaces
  std::string token, device;
  UserId user = 0;  // the test's side only: not in the plan file
  ConvId conv = 0;  // where its sends go (0: it only receives)
  int sends = 0;
};

struct FaultPlan {
  std::string url;
  int64_t heartbeat_idle_ms = 20000, heartbeat_timeout_ms = 10000;
  int64_t backoff_min_ms = 50, backoff_max_ms = 5000;
  int64_t connect_timeout_ms = 10000, call_timeout_ms = 10000;
  int64_t interval_ms = 100;
  std::vector<FaultClientPlan> clients;

  std::string ToText() const;
  // False for a line that does not parse or a plan without a url.
  static bool FromText(const std::string& text, FaultPlan* plan);
};

}  // namespace parley::test
