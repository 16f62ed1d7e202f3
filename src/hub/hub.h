// Hub: who is online, and the bridge from durable commits to their live sessions.
//
// The sequencer calls OnCommit after each durable commit, on its committer thread. The hub
// encodes each event once per user (only for users with a live session) and hands the
// frames to every session of that user. It never blocks on a session: Subscriber::Deliver
// only queues (and may drop — the sync timeline is the truth, pushes are a shortcut).
//
// It also knows which device each session authenticated as, so a revoked credential ends
// its live sessions at once (Close), and it caps the live sessions of one user.
//
// Thread-safety: all methods are thread-safe. Subscribers are sharded by user id.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
  // The hub has dropped this session (its credentials were revoked, or its user is over the
  // session cap): it must stop acting for its user and close with `code` and `reason`.
  // Called from any thread, never under a hub lock; must not block.
  virtual void Revoke(uint16_t code, std::string reason) = 0;
};

// WebSocket close codes of sessions the hub ends (docs/protocol.md "Close codes").
// 4001: the session's token was revoked (logout, new login on the same device id,
// password change, device.revoke, admin revoke) or expired.
inline constexpr uint16_t kCloseRevoked = 4001;
// 4002: the user opened a session beyond [limits] max_sessions_per_user; the oldest goes.
inline constexpr uint16_t kCloseTooManySessions = 4002;

class Hub : public CommitListener {
 public:
  // `max_sessions_per_user`: live sessions one user may have; 0 = no cap.
  explicit Hub(size_t max_sessions_per_user = 0) : max_per_user_(max_sessions_per_user) {}

  // The revocation epoch: it moves on every Close. Read it BEFORE checking the credentials
  // a session attaches with, and pass it to Attach: a revocation that ran in between
  // (and may have missed the session, not attached yet) makes Attach refuse, and the
  // caller checks the credentials again. This closes the race between a token check and
  // a concurrent revocation of that token.
  uint64_t epoch() const { return epoch_.load(std::memory_order_seq_cst); }

  // Adds a session of `user` on `device`. False (nothing attached) if a Close ran since
  // `epoch` was read. When the user is over the session cap, the oldest sessions are
  // detached and revoked with kCloseTooManySessions.
  [[nodiscard]] bool Attach(UserId user, std::string device, std::shared_ptr<Subscriber> subscriber,
                            uint64_t epoch);
  // For tests and tools: attaches without a device and without the epoch check.
  void Attach(UserId user, std::shared_ptr<Subscriber> subscriber) {
    (void)Attach(user, "", std::move(subscriber), epoch());
  }
  void Detach(UserId user, const Subscriber* subscriber);

  // Which sessions of a user Close ends.
  enum class Scope {
    kDevice,        // those of `device`
    kAllDevices,    // all of them
    kOtherDevices,  // all but those of `device`
  };
  // Detaches the matching sessions of `user` (no push reaches them after this returns)
  // and revokes them with `code` and `reason`; moves the epoch even if none matched.
  // Returns how many were closed.
  size_t Close(UserId user, Scope scope, std::string_view device, uint16_t code,
               const std::string& reason);

  void OnCommit(const CommitNotice& notice) override;

  // Delivers `frame` to every live session of `users` except `except` (typing notices).
  void Broadcast(const std::vector<UserId>& users, const Frame& frame, const Subscriber* except);

  size_t sessions() const { return sessions_.load(std::memory_order_relaxed); }
  size_t online_users() const { return users_.load(std::memory_order_relaxed); }
  // Sessions ended by Close, and by the per-user cap.
  uint64_t sessions_revoked() const { return revoked_.load(std::memory_order_relaxed); }
  uint64_t sessions_over_cap() const { return over_cap_.load(std::memory_order_relaxed); }
  // Frames handed to sessions so far (before any drop by a slow session).
  uint64_t frames_pushed() const { return pushed_.load(std::memory_order_relaxed); }

 private:
  using Subscribers = std::vector<std::shared_ptr<Subscriber>>;
  struct Session {
    std::shared_ptr<Subscriber> subscriber;
    std::string device;
  };
  struct Shard {
    std::mutex mu;
    // Per user, in the order attached: the oldest first.
    std::unordered_map<UserId, std::vector<Session>> users;
  };
  // Removes `user`'s entry if it has no session left. Shard lock held.
  void EraseIfEmpty(Shard& shard, UserId user);
  Shard& ShardOf(UserId user) { return shards_[user % shards_.size()]; }
  // A copy of the user's sessions (empty if offline), so delivery runs without the lock.
  Subscribers Lookup(UserId user);
  void DeliverTo(const Subscribers& subs, const std::vector<Frame>& frames);

  const size_t max_per_user_;
  std::array<Shard, 64> shards_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> revoked_{0};
  std::atomic<uint64_t> over_cap_{0};
  std::atomic<size_t> sessions_{0};
  std::atomic<size_t> users_{0};
  std::atomic<uint64_t> pushed_{0};
};

}  // namespace parley
