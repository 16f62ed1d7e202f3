// Hub: who is online, and the bridge from durable commits to their live sessions.
//
// The sequencer calls OnCommit after each durable commit, on its committer thread. The hub
// encodes each event once per user (only for users with a live session) and hands the
// frames to every session of that user. It never blocks on a session: Subscriber::Deliver
// only queues (and may drop — the sync timeline is the truth, pushes are a shortcut).
//
// Thread-safety: all methods are thread-safe. Subscribers are sharded by user id.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "service/commit_listener.h"

namespace parley {

using Frame = std::shared_ptr<const std::string>;

// A live session as the hub sees it.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Queues `frames` for the client, in order. Called from any thread, under a hub lock:
  // must not block and must not call back into the hub.
  virtual void Deliver(std::vector<Frame> frames) = 0;
};

class Hub : public CommitListener {
 public:
  void Attach(UserId user, std::shared_ptr<Subscriber> subscriber);
  void Detach(UserId user, const Subscriber* subscriber);

  void OnCommit(const CommitNotice& notice) override;

  // Delivers `frame` to every live session of `users` except `except` (typing notices).
  void Broadcast(const std::vector<UserId>& users, const Frame& frame, const Subscriber* except);

  size_t sessions() const { return sessions_.load(std::memory_order_relaxed); }
  size_t online_users() const { return users_.load(std::memory_order_relaxed); }
  // Frames handed to sessions so far (before any drop by a slow session).
  uint64_t frames_pushed() const { return pushed_.load(std::memory_order_relaxed); }

 private:
  using Subscribers = std::vector<std::shared_ptr<Subscriber>>;
  struct Shard {
    std::mutex mu;
    std::unordered_map<UserId, Subscribers> users;
  };
  Shard& ShardOf(UserId user) { return shards_[user % shards_.size()]; }
  // A copy of the user's sessions (empty if offline), so delivery runs without the lock.
  Subscribers Lookup(UserId user);
  void DeliverTo(const Subscribers& subs, const std::vector<Frame>& frames);

  std::array<Shard, 64> shards_;
  std::atomic<size_t> sessions_{0};
  std::atomic<size_t> users_{0};
  std::atomic<uint64_t> pushed_{0};
};

}  // namespace parley
