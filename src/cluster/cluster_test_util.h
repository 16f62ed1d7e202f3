// Test helpers of the cluster component: a Cluster against a test RedisServer with
// short timeouts, and a thread-safe collector of what its handlers received.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "cluster/cluster.h"
#include "tests/support/redis_server.h"
#include "tests/support/waiting.h"

namespace parley::cluster {

inline ClusterOptions TestOptions(const std::string& node, uint16_t port) {
  ClusterOptions o;
  o.node = node;
  o.redis_host = "127.0.0.1";
  o.redis_port = port;
  o.connection.connect_timeout = std::chrono::milliseconds(500);
  o.connection.command_timeout = std::chrono::milliseconds(1000);
  o.connection.backoff_min = std::chrono::milliseconds(10);
  o.connection.backoff_max = std::chrono::milliseconds(100);
  return o;
}

// What one node's bus handed to its handlers.
struct Received {
  std::mutex mu;
  std::vector<CommitNotice> notices;
  std::vector<TypingHint> typing;
  std::vector<RevokeHint> revokes;
  size_t resubscribed = 0;

  HintHandlers Handlers() {
    return HintHandlers{[this](const CommitNotice& n) {
                          std::lock_guard<std::mutex> lock(mu);
                          notices.push_back(n);
                        },
                        [this](const TypingHint& t) {
                          std::lock_guard<std::mutex> lock(mu);
                          typing.push_back(t);
                        },
                        [this](const RevokeHint& r) {
                          std::lock_guard<std::mutex> lock(mu);
                          revokes.push_back(r);
                        },
                        [this] {
                          std::lock_guard<std::mutex> lock(mu);
                          ++resubscribed;
                        }};
  }
  template <typename F>
  auto With(F f) {
    std::lock_guard<std::mutex> lock(mu);
    return f(*this);
  }
};

constexpr std::chrono::milliseconds kWait{10000};

inline bool WaitUp(Cluster& c) {
  return test::WaitUntil([&] { return c.redis_up(); }, kWait);
}

}  // namespace parley::cluster
