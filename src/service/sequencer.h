// Sequencer: the single ordered writer of Parley (group commit).
//
// Every mutation is a Task whose `stage` function runs on the sequencer thread. The
// thread takes all queued tasks (up to ServiceConfig::max_batch), stages them one after
// another into one CommitBatch — assigning conv_seq, user_seq and gseq from its caches,
// so later tasks see what earlier ones staged — and hands the batch to the committer
// thread, which writes it with one atomic, durable Store::Apply and only then calls each
// task's `done` with its own status. Batches are committed strictly in staging order, so
// no reader can ever see user_seq 6 before 5. Staging batch N+1 overlaps the commit of
// batch N (a two-stage pipeline); if N fails, N+1 — staged on top of it — fails too and
// the caches are rebuilt from the store.
//
// A store shared with other writers (cluster mode: Store::shared_writers()) gives up the
// overlap: each batch is opened in the store first (BeginBatch: its transaction and the
// lock every writer takes), and if the counters show another node's commits since ours,
// the caches are dropped and the batch stages from the store, under that lock.
//
// Rule for stage functions: validate first, stage after. A stage that returns an error
// must not have staged anything; if it did, the whole batch fails (and the caches are
// rebuilt from the store) rather than commit half a request.
//
// Thread-safety: Submit() from any thread. `done` callbacks run on the committer thread
// and must not block. Who hears about commits: the CommitFeed, on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "metrics/metrics.h"
#include "service/commit_feed.h"
#include "service/config.h"
#include "store/store.h"

namespace parley {

// The sequencer's cached view of one conversation.
struct ConvState {
  ConversationRecord conv;
  ConvHead head;
  std::unordered_map<UserId, MemberRecord> members;
  // Snapshot of member ids for the hub, rebuilt lazily: whoever changes `members` must
  // reset it (a size check alone misses one member leaving and another joining).
  std::shared_ptr<const std::vector<UserId>> member_ids;
  // Messages recalled since this state was loaded. Their tombstones may not be in the store
  // yet (this batch, or the one committing), so a second recall must not go by the store.
  std::unordered_set<Seq> recalled;

  bool IsMember(UserId u) const { return members.count(u) != 0; }
  std::shared_ptr<const std::vector<UserId>> MemberIds();
};

class SequencerState;

// What a task's stage function sees: the batch being built plus the sequencer's caches.
class CommitBatch {
 public:
  CommitBatch(SequencerState* state, Store* store, int64_t now_ms, bool collect_notice);

  WriteSet& writes() { return writes_; }
  Store& store() { return *store_; }
  int64_t now_ms() const { return now_ms_; }

  // The cached state of conversation `id`, loaded from the store on first use.
  // kNotFound if there is no such conversation.
  Result<ConvState*> Conv(ConvId id);
  // Registers a conversation created in this batch.
  ConvState* AddConv(ConversationRecord conv);
  // The head of `state` changed: written once at the end of the batch.
  void MarkHeadDirty(ConvState* state);

  uint64_t NextGseq();
  UserId NextUserId();
  ConvId NextConvId();

  // Appends `event` to the inbox of event.user_id with the next user_seq (and puts it in
  // the commit's notice, so the hub pushes it). `origin`: the connection that asked for it
  // and learns it from its reply (CommitNotice::origins), 0 = none. `user_seq` (may be
  // null) gets the user_seq assigned.
  Status Emit(InboxEvent event, uint64_t origin = 0, Seq* user_seq = nullptr);
  // The commit's notice (service/commit_notice.h) also says that the head of read-fan-out
  // conversation `state` moved, and carries a created, recalled or edited message.
  void NoteHeadMoved(ConvState* state);
  void NoteMessage(const MessageRecord& message) {
    if (collect_notice_) notice_.messages.push_back(message);
  }

  // Requests staged but not yet durable (this batch, or the one still committing), so
  // later tasks see them: dedup records, user names, direct pairs, read cursors, edits.
  const DedupRecord* FindPendingDedup(const std::string& key) const;
  void AddPendingDedup(std::string key, const DedupRecord& record);
  bool IsNamePending(const std::string& name) const;
  void AddPendingName(const std::string& name);
  std::optional<ConvId> FindPendingDirect(const std::string& pair_key) const;
  void AddPendingDirect(const std::string& pair_key, ConvId conv);
  std::optional<Seq> FindPendingRead(UserId user, ConvId conv) const;
  void SetPendingRead(UserId user, ConvId conv, Seq seq);
  // The newest edited version of message (conv, seq) not yet durable, or null. A second
  // edit or a recall must start from it: the store still has the older body.
  const MessageRecord* FindPendingEdit(ConvId conv, Seq seq) const;
  void SetPendingEdit(const MessageRecord& message);
  // Whether `blocker` blocks `blocked`, counting blocks and unblocks not yet durable.
  // Errors only when the store cannot be read.
  Result<bool> IsBlocked(UserId blocker, UserId blocked);
  void SetPendingBlock(UserId blocker, UserId blocked, bool on);

  // Adds the head and counter writes; called once after the last stage.
  void Finalize();
  // The conversations and users whose cached state this batch read (and so may change),
  // sorted and unique: a shared store records them with the batch (Store::NoteBatchTouches).
  std::pair<std::vector<ConvId>, std::vector<UserId>> TakeTouches();
  // The notice for the commit feed; the committer moves it out once the batch is durable.
  CommitNotice& notice() { return notice_; }

 private:
  SequencerState* state_;
  Store* store_;
  int64_t now_ms_;
  bool collect_notice_;
  WriteSet writes_;
  std::vector<ConvState*> dirty_heads_;
  std::vector<ConvId> touched_convs_;
  std::vector<UserId> touched_users_;
  bool counters_dirty_ = false;
  CommitNotice notice_;
};

// Where the sequencer reports the stages it times (metrics/stages.h); null: not timed.
struct SequencerTimings {
  metrics::Histogram* queue_wait = nullptr;   // per task: Submit -> taken into a batch
  metrics::Histogram* stage = nullptr;        // per batch: its stage functions
  metrics::Histogram* store_write = nullptr;  // per batch: Apply, less its sync
  metrics::Histogram* fsync = nullptr;        // per durable batch: the sync
};

struct SequencerStats {
  uint64_t batches = 0;
  uint64_t tasks = 0;
  uint64_t largest_batch = 0;
  // Requests waiting to be staged now, and the most that ever waited (never above
  // ServiceConfig::max_queued_writes).
  uint64_t queued = 0;
  uint64_t largest_queue = 0;
  // Requests refused with kUnavailable because the queue was full.
  uint64_t refused_full = 0;
  uint64_t commit_failures = 0;
  // Shared stores (cluster mode): batches that found another node's commits since this
  // node's last one; of those, how many forgot every cache (the others forgot only the
  // conversations and users those commits touched).
  uint64_t foreign_commits = 0;
  uint64_t caches_dropped = 0;
};

class Sequencer {
 public:
  struct Task {
    std::function<Status(CommitBatch&)> stage;
    std::function<void(const Status&)> done;
    // false for advisory writes (device cursors): a batch holding only such tasks is
    // committed without fsync.
    bool durable = true;
    // Set by Submit: the queue wait is measured from here.
    std::chrono::steady_clock::time_point queued_at{};
  };

  // Loads the counters from `store` and starts the thread. After each durable commit,
  // before the acks, the committer publishes its notice to `feed` (may be null: no
  // notices are built), which must outlive the sequencer. Publishing never waits for the
  // feed's subscribers.
  static Result<std::unique_ptr<Sequencer>> Start(Store* store, const ServiceConfig& config,
                                                  CommitFeed* feed,
                                                  const SequencerTimings& timings = {});
  ~Sequencer();

  // Queues a task. After Stop(), or while the queue is full (ServiceConfig::
  // max_queued_writes, with hysteresis: refusing lasts until half of it is taken), the
  // task's `done` gets kUnavailable at once, on the calling thread.
  void Submit(Task task);

  // Stages `stage` and delivers `out` (filled by the stage) or the error to `done`.
  template <typename T>
  void SubmitFor(std::function<Status(CommitBatch&, T&)> stage,
                 std::function<void(Result<T>)> done) {
    auto out = std::make_shared<T>();
    Submit(Task{[stage = std::move(stage), out](CommitBatch& b) { return stage(b, *out); },
                [done = std::move(done), out](const Status& s) {
                  if (s.ok()) {
                    done(std::move(*out));
                  } else {
                    done(s);
                  }
                }});
  }

  // Commits everything queued, then stops the thread. Idempotent.
  void Stop();

  // gseq of the newest durable commit; everything at or below it is readable.
  uint64_t committed_gseq() const { return committed_gseq_.load(std::memory_order_acquire); }
  SequencerStats stats() const;

 private:
  Sequencer(Store* store, const ServiceConfig& config, CommitFeed* feed,
            const SequencerTimings& timings, std::unique_ptr<SequencerState> state);
  struct Staged;  // a staged batch handed from the sequencer thread to the committer

  void Run();
  void Commit();  // the committer thread
  // Stages `tasks` into a batch; null if a half-staged task abandoned it (tasks failed).
  std::unique_ptr<Staged> Stage(std::vector<Task>& tasks);
  // Waits until the committer has finished the batch handed to it; its status.
  Status WaitIdle();
  void FailAll(std::vector<Task>& tasks, const Status& status);
  // Shared stores: waits for the batch in flight, opens the next one in the store (its
  // write lock) and drops the caches if another writer committed since. False when the
  // store cannot be reached: the tasks have failed with kUnavailable.
  bool OpenSharedBatch(std::vector<Task>& tasks);

  Store* store_;
  const bool shared_;  // store_->shared_writers()
  ServiceConfig config_;
  CommitFeed* feed_;
  SequencerTimings timings_;
  std::unique_ptr<SequencerState> state_;  // touched only by the sequencer thread
  std::atomic<uint64_t> committed_gseq_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  // Set when the queue fills, cleared once it is down to half: a connection's pipelined
  // requests that arrive right behind a refused one are refused too instead of
  // overtaking it. Guarded by mu_.
  bool refusing_ = false;
  SequencerStats stats_;             // guarded by mu_
  std::unique_ptr<Staged> handoff_;  // guarded by mu_: the batch for the committer
  bool committing_ = false;          // guarded by mu_
  Status last_commit_;               // guarded by mu_
  bool committer_exit_ = false;      // guarded by mu_
  std::condition_variable commit_cv_;
  std::thread thread_;
  std::thread committer_;
};

}  // namespace parley
