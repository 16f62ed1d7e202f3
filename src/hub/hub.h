// Hub: who is online, and the bridge from durable commits to their live sessions.
//
// It follows the commit feed (service/commit_feed.h): OnCommit runs on the feed's thread,
// after the commit's acks may already have gone out. The hub encodes each event once per
// user (only for users with a live session) and hands the frames to every session of that
// user. It never blocks on a session: Subscriber::Deliver only queues (and may drop — the
// sync timeline is the truth, pushes are a shortcut). When the feed dropped commits
// (OnGap), every online session gets one `resync` push instead.
//
// Sessions are held by weak reference (Beast's chat-multi): the session owns itself, the
// hub copies the weak references under a shard lock and locks and delivers outside it, so
// a session that died can never be reached, even if it was never detached.
//
// It also knows which device each session authenticated as, so a revoked credential ends
// its live sessions at once (Close), and it caps the live sessions of one user.
//
// A session's own doing is not pushed back to it: an event whose origin (CommitNotice::
// origins, the session id given at Attach) is a session skips exactly that session —
// its reply already told it (a send's ack carries its user_seq); the user's other
// sessions get it as usual.
//
// Ordering that clients rely on (docs/protocol.md): a session attaches before it syncs,
// and the hub looks a user's sessions up when it delivers a notice, which the feed does
// after the commit was durable. So an event is either in the sync's answer (durable
// before the sync read) or pushed to the session (delivered after it attached) — possibly
// both: a push may arrive after the ack and after a sync that already returned it, and
// clients skip a push whose user_seq is not above their cursor.
//
// Thread-safety: all methods are thread-safe. Sessions are sharded by user id.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metrics/metrics.h"
#include "service/commit_feed.h"
#include "service/commit_notice.h"

namespace parley {

using Frame = std::shared_ptr<const std::string>;

// A live session as the hub sees it.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Queues `frames` for the client, in order. Called from any thread (the commit feed's,
  // a network thread for typing notices), never under a hub lock; must not block.
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

class Hub {
 public:
  // `max_sessions_per_user`: live sessions one user may have; 0 = no cap.
  explicit Hub(size_t max_sessions_per_user = 0) : max_per_user_(max_sessions_per_user) {}
  ~Hub() { feed_subscription_.Reset(); }  // no notice reaches a hub being destroyed

  // Pushes every commit of `feed` from now on (OnCommit, OnGap), until the hub is
  // destroyed. `feed` must outlive the hub.
  void Follow(CommitFeed& feed);

  // The revocation epoch: it moves on every Close. Read it BEFORE checking the credentials
  // a session attaches with, and pass it to Attach: a revocation that ran in between
  // (and may have missed the session, not attached yet) makes Attach refuse, and the
  // caller checks the credentials again. This closes the race between a token check and
  // a concurrent revocation of that token.
  uint64_t epoch() const { return epoch_.load(std::memory_order_seq_cst); }

  // Adds a session of `user` on `device`; the hub keeps only a weak reference. False
  // (nothing attached) if a Close ran since `epoch` was read. When the user is over the session
  // cap, the oldest sessions are detached and revoked with kCloseTooManySessions.
  // `session_id`: the session's id, unique for the process's lifetime (never reused, unlike
  // an address); events whose origin it is are not pushed to it. 0 = none.
  [[nodiscard]] bool Attach(UserId user, std::string device, std::shared_ptr<Subscriber> subscriber,
                            uint64_t epoch, uint64_t session_id = 0);
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

  // Pushes the events and head moves of one commit to the online sessions they concern:
  // one Deliver per session, its frames in user_seq order, without the events that
  // session originated.
  void OnCommit(const CommitNotice& notice);
  // Where OnCommit records how long it took (parley_stage_seconds{stage="hub"},
  // metrics/stages.h); null (the default) records nothing. Must outlive the hub's use of
  // it (a registry's histograms live as long as the registry). Any thread.
  void set_commit_histogram(metrics::Histogram* h) {
    commit_histogram_.store(h, std::memory_order_release);
  }
  // Commits were dropped before they reached the hub: one `resync` push to every online
  // session (each then pulls with `sync`).
  void OnGap();

  // Delivers `frame` to every live session of `users` except `except` (typing notices).
  void Broadcast(const std::vector<UserId>& users, const Frame& frame, const Subscriber* except);

  // Sessions attached and not detached (one that died undetached counts until the hub
  // next looks its user up).
  size_t sessions() const { return sessions_.load(std::memory_order_relaxed); }
  size_t online_users() const { return users_.load(std::memory_order_relaxed); }
  // Sessions ended by Close, and by the per-user cap.
  uint64_t sessions_revoked() const { return revoked_.load(std::memory_order_relaxed); }
  uint64_t sessions_over_cap() const { return over_cap_.load(std::memory_order_relaxed); }
  // Frames handed to sessions so far (before any drop by a slow session).
  uint64_t frames_pushed() const { return pushed_.load(std::memory_order_relaxed); }
  // `resync` pushes sent because the commit feed dropped commits.
  uint64_t gap_resyncs() const { return gap_resyncs_.load(std::memory_order_relaxed); }

 private:
  using Subscribers = std::vector<std::shared_ptr<Subscriber>>;
  struct Session {
    std::weak_ptr<Subscriber> subscriber;
    const Subscriber* key;  // identity for Detach; never dereferenced
    std::string device;
    uint64_t id = 0;  // Attach's session_id
  };
  // A session locked for delivery, with its id.
  struct LiveSession {
    std::shared_ptr<Subscriber> subscriber;
    uint64_t id = 0;
  };
  struct Shard {
    std::mutex mu;
    // Per user, in the order attached: the oldest first.
    std::unordered_map<UserId, std::vector<Session>> users;
  };
  // Removes `user`'s entry if it has no session left. Shard lock held.
  void EraseIfEmpty(Shard& shard, UserId user);
  // Forgets the sessions of `sessions` that died without detaching. Shard lock held.
  void PruneDead(std::vector<Session>& sessions);
  Shard& ShardOf(UserId user) { return shards_[user % shards_.size()]; }
  // The user's live sessions (empty if offline): weak references copied under the lock,
  // locked outside it, so delivery runs without the lock.
  std::vector<LiveSession> Lookup(UserId user);
  void DeliverTo(const Subscribers& subs, const std::vector<Frame>& frames);
  // The pushes of one user's `events` of `notice` (`frames`, encoded in the same order) to
  // each of `sessions`, leaving out the events a session originated.
  void DeliverEvents(const std::vector<LiveSession>& sessions, const std::vector<uint64_t>& origins,
                     const std::vector<Frame>& frames);

  const size_t max_per_user_;
  std::array<Shard, 64> shards_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> revoked_{0};
  std::atomic<uint64_t> over_cap_{0};
  std::atomic<size_t> sessions_{0};
  std::atomic<size_t> users_{0};
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> gap_resyncs_{0};
  std::atomic<metrics::Histogram*> commit_histogram_{nullptr};
  CommitFeed::Subscription feed_subscription_;
};

}  // namespace parley
