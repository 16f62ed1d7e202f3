// CommitFeed: hands every durable commit (a CommitNotice) to its subscribers — the hub
// (pushes), the search indexer (wake-up) and the metrics — on a thread of its own, so the
// sequencer's committer releases the acks of a batch without waiting for push encoding.
//
// Order: one dispatch thread delivers the notices in commit order, each to every
// subscriber in the order they subscribed, so per-user pushes keep ascending user_seq.
// A notice is shared, immutable (shared_ptr<const>), never copied per subscriber.
//
// Bounds: at most CommitFeedOptions::max_queued_notices notices (and max_queued_events
// events) wait for delivery. When a commit finds the queue full, the feed drops it and
// every later one until the queue has drained, then tells each subscriber once what it
// missed (OnGap) before delivering the next notice — the drop-and-resync of the gateway's
// session outbox, one level up. A slow subscriber delays everyone's pushes but never grows
// memory without limit; the hub answers a gap with one `resync` push to every online
// session, the indexer with a wake-up (it reads the store's change feed anyway).
//
// Shutdown: Stop() refuses new notices (Publish then discards them, uncounted), delivers
// every notice already queued and a pending gap, and joins the thread. After Stop() no
// callback runs. parleyd stops the feed after the gateway and before the core (whose last
// commits are then not delivered: no session is left to push to, and the indexer resumes
// from its checkpoint).
//
// Thread-safety: all methods from any thread, except that Flush() and Stop() must not be
// called from a callback (they wait for the dispatch thread). Callbacks run on the
// dispatch thread, one at a time; they may Subscribe, and may drop their own
// Subscription.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service/commit_notice.h"

namespace parley {

struct CommitFeedOptions {
  // Notices waiting for delivery, at most. Default: 4096 (a few seconds of commits at full
  // load; each holds one batch's events).
  size_t max_queued_notices = 4096;
  // Inbox events and head moves in the waiting notices, at most (a notice bigger than
  // this alone is still accepted into an empty queue). Default: 1,048,576.
  size_t max_queued_events = size_t{1} << 20;
};

// Commits a subscriber missed because the feed dropped them (see Bounds above).
struct CommitGap {
  uint64_t notices = 0;         // commits dropped
  uint64_t committed_gseq = 0;  // the newest of them: everything up to it is durable
  bool operator==(const CommitGap&) const = default;
};

class CommitFeed {
 public:
  using Notice = std::shared_ptr<const CommitNotice>;
  using OnCommit = std::function<void(const Notice&)>;
  using OnGap = std::function<void(const CommitGap&)>;

  // Keeps a subscription alive; destroying (or Reset) it unsubscribes. When Reset returns,
  // the callbacks are not running and never run again — except when it is called from a
  // callback on the dispatch thread, which then finishes that call.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept { *this = std::move(other); }
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription() { Reset(); }
    void Reset();
    bool active() const { return feed_ != nullptr; }

   private:
    friend class CommitFeed;
    Subscription(CommitFeed* feed, uint64_t id) : feed_(feed), id_(id) {}
    CommitFeed* feed_ = nullptr;  // must outlive the subscription
    uint64_t id_ = 0;
  };

  explicit CommitFeed(CommitFeedOptions options = {});
  ~CommitFeed();  // Stop()
  CommitFeed(const CommitFeed&) = delete;
  CommitFeed& operator=(const CommitFeed&) = delete;

  // `name` says who it is in stats and metrics ("hub", "search"). `on_gap` may be null.
  // The subscriber hears the notices published after this call.
  [[nodiscard]] Subscription Subscribe(std::string name, OnCommit on_commit, OnGap on_gap = {});

  // Queues a durable commit for delivery (the sequencer's committer thread, in commit
  // order). Never waits for subscribers; drops the notice when the queue is full.
  void Publish(Notice notice);

  // Waits until every notice published before the call has been delivered (or reported
  // as part of a gap). For tests and tools.
  void Flush();

  // See Shutdown above. Idempotent.
  void Stop();

  struct Stats {
    size_t queued = 0;       // notices waiting now
    uint64_t published = 0;  // notices accepted or dropped
    uint64_t delivered = 0;  // notices handed to the subscribers
    uint64_t dropped = 0;    // notices dropped because the queue was full
    uint64_t gaps = 0;       // gaps reported (each after one run of drops)
  };
  Stats stats() const;
  // Seconds the subscriber called `name` has spent in its callbacks (0 if none): which
  // subscriber makes the feed lag.
  double busy_seconds(const std::string& name) const;

 private:
  struct Subscriber {
    uint64_t id;
    std::string name;
    OnCommit on_commit;
    OnGap on_gap;
    std::atomic<uint64_t> busy_ns{0};
  };
  using Subscribers = std::vector<std::shared_ptr<Subscriber>>;
  // A notice, or (notice null) a gap report.
  struct Entry {
    Notice notice;
    CommitGap gap;
  };
  static size_t Weight(const CommitNotice& n) { return n.events.size() + n.head_moves.size(); }

  void Unsubscribe(uint64_t id);
  void Run();
  void Deliver(const Entry& entry);

  const CommitFeedOptions options_;

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the dispatch thread: work or stop
  std::condition_variable handled_;  // Flush: progress
  std::deque<Entry> queue_;          // guarded by mu_
  size_t queued_events_ = 0;         // guarded by mu_
  CommitGap pending_gap_;            // guarded by mu_: drops not reported yet
  bool stopping_ = false;            // guarded by mu_
  bool finished_ = false;            // guarded by mu_: the dispatch thread has ended
  uint64_t published_ = 0;           // guarded by mu_
  uint64_t handled_count_ = 0;       // guarded by mu_: delivered + reported as a gap
  Stats stats_;                      // guarded by mu_ (queued is computed)

  mutable std::mutex subscribers_mu_;
  // Copy-on-write: the dispatch thread takes the current list for each entry.
  std::shared_ptr<const Subscribers> subscribers_;  // guarded by subscribers_mu_
  uint64_t next_id_ = 0;                            // guarded by subscribers_mu_
  // Held while callbacks run, so an unsubscriber can wait for a running delivery.
  std::mutex delivering_mu_;

  std::thread thread_;
  std::thread::id dispatch_id_;  // set before the thread runs anything
};

}  // namespace parley
