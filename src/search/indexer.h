// Indexer: keeps the SearchIndex up to date by following the store's change feed.
//
// A background thread reads changes after the index checkpoint, fetches the messages they
// name, and applies them with the new checkpoint in one index transaction: new text
// messages are added, recalled ones removed, edited ones replaced. It wakes when the
// commit feed delivers a commit (or a gap: dropped commits are in the change feed all the
// same) or Notify is called, and otherwise polls, so it lags under load, catches up
// afterwards, and after a crash simply resumes from the checkpoint. A step that fails (the
// index's disk is full, the store cannot be read) is retried with a backoff of up to 5 s:
// the first failure of a run is logged, and so is the recovery; failures() counts them.
//
// Thread-safety: Notify() and the lag accessors from any thread; Start/Stop from one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "search/search_index.h"
#include "service/commit_feed.h"
#include "store/store.h"

namespace parley::search {

struct IndexerOptions {
  size_t batch_changes = 4096;  // changes per index transaction, at most
  int idle_poll_ms = 500;       // poll this often without a Notify
  // After a Notify, wait this long for more commits before indexing, so a trickle of
  // messages becomes a few index transactions rather than one each. 0: index at once.
  int settle_ms = 100;
  // Called after each applied batch with the number of documents it touched (metrics).
  std::function<void(size_t docs, double seconds)> on_batch;
};

class Indexer {
 public:
  Indexer(Store& store, SearchIndex& index, IndexerOptions options = {});
  ~Indexer();  // Stops.

  // Starts the thread; with `feed` (which must outlive the indexer, or its Stop), each
  // commit it delivers wakes the indexer.
  void Start(CommitFeed* feed = nullptr);
  // Leaves the feed, then stops the thread. Idempotent.
  void Stop();

  // The store committed up to `gseq`: wake up.
  void Notify(uint64_t committed_gseq);

  // Indexes everything up to the store's current change-feed end on this thread; for
  // rebuilds and tests (not while the thread runs).
  Status CatchUp();

  // Changes committed but not yet indexed, and the age of the oldest of them.
  uint64_t lag_changes() const;
  double lag_seconds() const;
  uint64_t committed_gseq() const { return committed_.load(std::memory_order_relaxed); }
  // Indexing steps that failed (each is retried; the index is never left half-written).
  uint64_t failures() const { return failures_total_.load(std::memory_order_relaxed); }

 private:
  // One step: false when there was nothing to do.
  Result<bool> Step();
  void Run();

  Store& store_;
  SearchIndex& index_;
  const IndexerOptions options_;
  std::atomic<uint64_t> committed_{0};
  std::atomic<int64_t> oldest_pending_ms_{0};  // 0: none known
  std::atomic<uint64_t> failures_total_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool poked_ = false;
  std::thread thread_;
  CommitFeed::Subscription feed_subscription_;
};

}  // namespace parley::search
