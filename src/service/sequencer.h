// Sequencer: the single ordered writer of Parley (group commit).
//
// Every mutation is a Task whose `stage` function runs on the sequencer thread. The
// thread takes all queued tasks (up to ServiceConfig::max_batch), stages them one after
// another into one CommitBatch — assigning conv_seq, user_seq and gseq from its caches,
// so later tasks see what earlier ones staged — and commits the batch with one atomic,
// durable Store::Apply. Only then does it call each task's `done` with its own status.
// Because sequences are assigned and committed in one stream, no reader can ever see
// user_seq 6 before 5.
//
// Rule for stage functions: validate first, stage after. A stage that returns an error
// must not have staged anything; if it did, the whole batch fails (and the caches are
// rebuilt from the store) rather than commit half a request.
//
// Thread-safety: Submit() from any thread. `done` callbacks run on the sequencer thread
// and must not block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "service/commit_listener.h"
#include "service/config.h"
#include "store/store.h"

namespace parley {

// The sequencer's cached view of one conversation.
struct ConvState {
  ConversationRecord conv;
  ConvHead head;
  std::unordered_map<UserId, MemberRecord> members;
  // Snapshot of member ids for the hub; rebuilt lazily after membership changes.
  std::shared_ptr<const std::vector<UserId>> member_ids;

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

  // Appends `event` to the inbox of event.user_id with the next user_seq.
  Status Emit(InboxEvent event);
  void NotifyConvMoved(ConvState* state);

  // Requests staged in this batch but not yet committed, so later tasks see them.
  std::unordered_map<std::string, DedupRecord>& pending_dedup() { return pending_dedup_; }
  std::unordered_set<std::string>& pending_names() { return pending_names_; }
  std::unordered_map<std::string, ConvId>& pending_directs() { return pending_directs_; }
  // Read cursors staged in this batch, by (user, conversation).
  std::map<std::pair<UserId, ConvId>, Seq>& pending_reads() { return pending_reads_; }

  // Adds the head and counter writes; called once after the last stage.
  void Finalize();
  CommitNotice& notice() { return notice_; }

 private:
  SequencerState* state_;
  Store* store_;
  int64_t now_ms_;
  bool collect_notice_;
  WriteSet writes_;
  std::vector<ConvState*> dirty_heads_;
  bool counters_dirty_ = false;
  std::unordered_map<std::string, DedupRecord> pending_dedup_;
  std::unordered_set<std::string> pending_names_;
  std::unordered_map<std::string, ConvId> pending_directs_;
  std::map<std::pair<UserId, ConvId>, Seq> pending_reads_;
  CommitNotice notice_;
};

struct SequencerStats {
  uint64_t batches = 0;
  uint64_t tasks = 0;
  uint64_t largest_batch = 0;
  uint64_t commit_failures = 0;
};

class Sequencer {
 public:
  struct Task {
    std::function<Status(CommitBatch&)> stage;
    std::function<void(const Status&)> done;
  };

  // Loads the counters from `store` and starts the thread. `listener` may be null and
  // must outlive the sequencer.
  static Result<std::unique_ptr<Sequencer>> Start(Store* store, const ServiceConfig& config,
                                                  CommitListener* listener);
  ~Sequencer();

  // Queues a task. After Stop() the task's `done` gets kUnavailable at once.
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
  Sequencer(Store* store, const ServiceConfig& config, CommitListener* listener,
            std::unique_ptr<SequencerState> state);
  void Run();
  void RunBatch(std::vector<Task>& tasks);

  Store* store_;
  ServiceConfig config_;
  CommitListener* listener_;
  std::unique_ptr<SequencerState> state_;  // touched only by the sequencer thread
  std::atomic<uint64_t> committed_gseq_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  SequencerStats stats_;    // guarded by mu_
  std::thread thread_;
};

}  // namespace parley
