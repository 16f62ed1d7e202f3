#include "service/sequencer.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "common/clock.h"
#include "metrics/stages.h"

namespace parley {

// Caches owned by the sequencer thread. Everything here either is committed or belongs to
// the batch being built; when a commit fails it is all dropped and reloaded.
class SequencerState {
 public:
  explicit SequencerState(Store* store) : store_(store) {}

  Status Reload() {
    convs_.clear();
    user_seqs_.clear();
    ClearPending();
    PARLEY_ASSIGN_OR_RETURN(counters_, store_->LoadCounters());
    return Status::Ok();
  }

  // Keeps memory bounded. The caches are only a speed-up, so dropping them is safe when
  // no batch is in flight (everything they hold is then in the store).
  void Trim() {
    convs_.clear();
    user_seqs_.clear();
  }
  // Drops what other writers changed (cluster mode); the rest stays valid.
  void Forget(const std::vector<ConvId>& convs, const std::vector<UserId>& users) {
    for (ConvId c : convs) convs_.erase(c);
    for (UserId u : users) user_seqs_.erase(u);
  }

  int64_t NextBatchMillis() {
    last_ms_ = std::max(last_ms_, NowMillis());
    return last_ms_;
  }

  Result<ConvState*> Conv(ConvId id) {
    auto it = convs_.find(id);
    if (it != convs_.end()) return it->second.get();
    PARLEY_ASSIGN_OR_RETURN(auto conv, store_->GetConversation(id));
    auto state = std::make_unique<ConvState>();
    state->conv = std::move(conv);
    PARLEY_ASSIGN_OR_RETURN(state->head, store_->GetConvHead(id));
    PARLEY_ASSIGN_OR_RETURN(auto members, store_->ListMembers(id));
    state->members.reserve(members.size());
    for (auto& m : members) state->members.emplace(m.user_id, m);
    ConvState* raw = state.get();
    convs_.emplace(id, std::move(state));
    return raw;
  }

  ConvState* AddConv(ConversationRecord conv) {
    auto state = std::make_unique<ConvState>();
    state->conv = std::move(conv);
    ConvState* raw = state.get();
    convs_[raw->conv.id] = std::move(state);
    return raw;
  }

  Result<Seq> NextUserSeq(UserId user) {
    auto it = user_seqs_.find(user);
    if (it == user_seqs_.end()) {
      PARLEY_ASSIGN_OR_RETURN(Seq last, store_->LastUserSeq(user));
      it = user_seqs_.emplace(user, last).first;
    }
    return ++it->second;
  }

  Counters& counters() { return counters_; }

  // Requests staged but not yet durable, in two generations: the batch being staged and
  // the one the committer is writing.
  struct Pending {
    std::unordered_map<std::string, DedupRecord> dedup;
    std::unordered_set<std::string> names;
    std::unordered_map<std::string, ConvId> directs;
    std::map<std::pair<UserId, ConvId>, Seq> reads;
    std::map<std::pair<ConvId, Seq>, MessageRecord> edits;
    std::map<std::pair<UserId, UserId>, bool> blocks;  // (blocker, blocked) -> blocked now
    void clear() {
      blocks.clear();
      dedup.clear();
      names.clear();
      directs.clear();
      reads.clear();
      edits.clear();
    }
  };
  Pending& staging() { return pending_[current_]; }
  // The generation staged before the current one (committing, or already durable).
  const Pending& previous() const { return pending_[current_ ^ 1]; }
  const Pending& generation(int i) const { return pending_[i]; }
  // The batch before the one just staged is durable: its generation is free again.
  void RotatePending() {
    current_ ^= 1;
    pending_[current_].clear();
  }
  void ClearPending() {
    pending_[0].clear();
    pending_[1].clear();
  }
  bool NeedsTrim(const ServiceConfig& config) const {
    return convs_.size() > config.conv_cache_max || user_seqs_.size() > config.user_cache_max;
  }

 private:
  Pending pending_[2];
  int current_ = 0;
  Store* store_;
  std::unordered_map<ConvId, std::unique_ptr<ConvState>> convs_;
  std::unordered_map<UserId, Seq> user_seqs_;
  Counters counters_;
  int64_t last_ms_ = 0;
};

std::shared_ptr<const std::vector<UserId>> ConvState::MemberIds() {
  if (!member_ids || member_ids->size() != members.size()) {
    auto ids = std::make_shared<std::vector<UserId>>();
    ids->reserve(members.size());
    for (const auto& [id, m] : members) ids->push_back(id);
    member_ids = std::move(ids);
  }
  return member_ids;
}

// --- CommitBatch

CommitBatch::CommitBatch(SequencerState* state, Store* store, int64_t now_ms, bool collect_notice)
    : state_(state), store_(store), now_ms_(now_ms), collect_notice_(collect_notice) {}

Result<ConvState*> CommitBatch::Conv(ConvId id) {
  touched_convs_.push_back(id);
  return state_->Conv(id);
}

ConvState* CommitBatch::AddConv(ConversationRecord conv) {
  touched_convs_.push_back(conv.id);
  return state_->AddConv(std::move(conv));
}

std::pair<std::vector<ConvId>, std::vector<UserId>> CommitBatch::TakeTouches() {
  for (auto* v : {&touched_convs_, &touched_users_}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return {std::move(touched_convs_), std::move(touched_users_)};
}

void CommitBatch::MarkHeadDirty(ConvState* state) {
  if (std::find(dirty_heads_.begin(), dirty_heads_.end(), state) == dirty_heads_.end()) {
    dirty_heads_.push_back(state);
  }
}

uint64_t CommitBatch::NextGseq() {
  counters_dirty_ = true;
  return ++state_->counters().last_gseq;
}

UserId CommitBatch::NextUserId() {
  counters_dirty_ = true;
  return ++state_->counters().last_user_id;
}

ConvId CommitBatch::NextConvId() {
  counters_dirty_ = true;
  return ++state_->counters().last_conv_id;
}

Status CommitBatch::Emit(InboxEvent event, uint64_t origin, Seq* user_seq) {
  touched_users_.push_back(event.user_id);
  PARLEY_ASSIGN_OR_RETURN(event.user_seq, state_->NextUserSeq(event.user_id));
  if (user_seq) *user_seq = event.user_seq;
  writes_.Add(op::PutInboxEvent{event});
  if (collect_notice_) {
    notice_.events.push_back(event);
    notice_.origins.push_back(origin);
  }
  return Status::Ok();
}

void CommitBatch::NoteHeadMoved(ConvState* state) {
  if (!collect_notice_) return;
  notice_.head_moves.push_back(HeadMoved{state->conv.id, state->head.last_seq, state->head.last_ms,
                                         state->head.last_gseq, state->MemberIds()});
}

const DedupRecord* CommitBatch::FindPendingDedup(const std::string& key) const {
  for (int i = 0; i < 2; ++i) {
    const auto& m = state_->generation(i).dedup;
    if (auto it = m.find(key); it != m.end()) return &it->second;
  }
  return nullptr;
}

void CommitBatch::AddPendingDedup(std::string key, const DedupRecord& record) {
  state_->staging().dedup.emplace(std::move(key), record);
}

bool CommitBatch::IsNamePending(const std::string& name) const {
  return state_->generation(0).names.count(name) || state_->generation(1).names.count(name);
}

void CommitBatch::AddPendingName(const std::string& name) { state_->staging().names.insert(name); }

std::optional<ConvId> CommitBatch::FindPendingDirect(const std::string& pair_key) const {
  for (int i = 0; i < 2; ++i) {
    const auto& m = state_->generation(i).directs;
    if (auto it = m.find(pair_key); it != m.end()) return it->second;
  }
  return std::nullopt;
}

void CommitBatch::AddPendingDirect(const std::string& pair_key, ConvId conv) {
  state_->staging().directs[pair_key] = conv;
}

std::optional<Seq> CommitBatch::FindPendingRead(UserId user, ConvId conv) const {
  std::optional<Seq> best;
  for (int i = 0; i < 2; ++i) {
    const auto& m = state_->generation(i).reads;
    if (auto it = m.find({user, conv}); it != m.end())
      best = std::max(best.value_or(0), it->second);
  }
  return best;
}

void CommitBatch::SetPendingRead(UserId user, ConvId conv, Seq seq) {
  state_->staging().reads[{user, conv}] = seq;
}

const MessageRecord* CommitBatch::FindPendingEdit(ConvId conv, Seq seq) const {
  // The staging generation first: it holds the newer version if both have one.
  const SequencerState::Pending* newest_first[] = {&state_->staging(), &state_->previous()};
  for (const auto* generation : newest_first) {
    if (auto it = generation->edits.find({conv, seq}); it != generation->edits.end()) {
      return &it->second;
    }
  }
  return nullptr;
}

void CommitBatch::SetPendingEdit(const MessageRecord& message) {
  state_->staging().edits[{message.conv_id, message.seq}] = message;
}

Result<bool> CommitBatch::IsBlocked(UserId blocker, UserId blocked) {
  // The staging generation first: it holds the newer change if both have one.
  const SequencerState::Pending* newest_first[] = {&state_->staging(), &state_->previous()};
  for (const auto* generation : newest_first) {
    if (auto it = generation->blocks.find({blocker, blocked}); it != generation->blocks.end()) {
      return it->second;
    }
  }
  auto r = store_->GetBlock(blocker, blocked);
  if (r.ok()) return true;
  if (r.status().code() == Code::kNotFound) return false;
  return r.status();
}

void CommitBatch::SetPendingBlock(UserId blocker, UserId blocked, bool on) {
  state_->staging().blocks[{blocker, blocked}] = on;
}

void CommitBatch::Finalize() {
  for (ConvState* s : dirty_heads_) writes_.Add(op::PutConvHead{s->conv.id, s->head});
  if (counters_dirty_) writes_.Add(op::PutCounters{state_->counters()});
  notice_.committed_gseq = state_->counters().last_gseq;
}

// --- Sequencer

struct Sequencer::Staged {
  std::unique_ptr<CommitBatch> batch;
  bool durable = false;  // some task needs the configured durability
  std::vector<Task> tasks;
  std::vector<Status> results;
};

Result<std::unique_ptr<Sequencer>> Sequencer::Start(Store* store, const ServiceConfig& config,
                                                    CommitFeed* feed,
                                                    const SequencerTimings& timings) {
  auto state = std::make_unique<SequencerState>(store);
  PARLEY_RETURN_IF_ERROR(state->Reload());
  std::unique_ptr<Sequencer> seq(new Sequencer(store, config, feed, timings, std::move(state)));
  seq->committed_gseq_.store(seq->state_->counters().last_gseq);
  seq->committer_ = std::thread([s = seq.get()] { s->Commit(); });
  seq->thread_ = std::thread([s = seq.get()] { s->Run(); });
  return seq;
}

Sequencer::Sequencer(Store* store, const ServiceConfig& config, CommitFeed* feed,
                     const SequencerTimings& timings, std::unique_ptr<SequencerState> state)
    : store_(store),
      shared_(store->shared_writers()),
      config_(config),
      feed_(feed),
      timings_(timings),
      state_(std::move(state)) {}

namespace {

void ObserveNanos(metrics::Histogram* h, int64_t nanos) {
  if (h != nullptr && nanos >= 0) h->Observe(static_cast<double>(nanos) * 1e-9);
}

void ObserveSince(metrics::Histogram* h, std::chrono::steady_clock::time_point start,
                  std::chrono::steady_clock::time_point now) {
  if (h != nullptr) h->Observe(metrics::Seconds(now - start));
}

}  // namespace

Sequencer::~Sequencer() { Stop(); }

void Sequencer::Submit(Task task) {
  if (timings_.queue_wait != nullptr) task.queued_at = std::chrono::steady_clock::now();
  Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refused = Status(Code::kUnavailable, "server is shutting down");
    } else if (refusing_ || queue_.size() >= config_.max_queued_writes) {
      // The disk is slower than the requests coming in: failing now, with a retry hint on
      // the wire, keeps memory and latency bounded where an unbounded queue would grow
      // until the process dies.
      refusing_ = true;
      stats_.refused_full++;
      refused =
          Status(Code::kUnavailable, "too many writes are waiting for the disk (" +
                                         std::to_string(queue_.size()) + " queued); retry later");
    } else {
      queue_.push_back(std::move(task));
      stats_.largest_queue = std::max<uint64_t>(stats_.largest_queue, queue_.size());
      if (queue_.size() == 1) cv_.notify_one();
      return;
    }
  }
  task.done(refused);
}

void Sequencer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    committer_exit_ = true;
  }
  commit_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

SequencerStats Sequencer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SequencerStats stats = stats_;
  stats.queued = queue_.size();
  return stats;
}

void Sequencer::FailAll(std::vector<Task>& tasks, const Status& status) {
  for (auto& task : tasks) task.done(status);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.commit_failures++;
}

Status Sequencer::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  commit_cv_.wait(lock, [&] { return !committing_; });
  return last_commit_;
}

void Sequencer::Run() {
  std::vector<Task> tasks;
  bool broken = false;  // the store could not be re-read after a failure
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything queued has been staged
      size_t n = std::min(queue_.size(), config_.max_batch);
      tasks.clear();
      for (size_t i = 0; i < n; ++i) {
        tasks.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (refusing_ && queue_.size() <= config_.max_queued_writes / 2) refusing_ = false;
    }
    if (timings_.queue_wait != nullptr) {
      const auto now = std::chrono::steady_clock::now();
      for (const Task& t : tasks) ObserveSince(timings_.queue_wait, t.queued_at, now);
    }
    if (broken) {
      FailAll(tasks, Status(Code::kUnavailable, "store unavailable; restart the server"));
      continue;
    }
    if (state_->NeedsTrim(config_)) {
      // Dropping caches is only safe with nothing in flight.
      if (WaitIdle().ok()) {
        state_->Trim();
        state_->ClearPending();
      }
    }
    if (shared_ && !OpenSharedBatch(tasks)) continue;
    std::unique_ptr<Staged> staged = Stage(tasks);
    Status previous = WaitIdle();
    if (!previous.ok() || !staged) {
      // The batch before this one failed (this one was staged on top of it), or this one
      // was abandoned: nothing of it is stored. Start again from the store.
      if (staged) FailAll(staged->tasks, previous);
      if (shared_) store_->AbortBatch();
      // A shared store may come back (a failover): its next batch reloads the counters.
      broken = !state_->Reload().ok() && !shared_;
      std::lock_guard<std::mutex> lock(mu_);
      last_commit_ = Status::Ok();
      continue;
    }
    state_->RotatePending();  // the previous batch is durable; its pending set is free
    {
      std::lock_guard<std::mutex> lock(mu_);
      handoff_ = std::move(staged);
      committing_ = true;
    }
    commit_cv_.notify_all();
  }
  WaitIdle().IgnoreError();
}

bool Sequencer::OpenSharedBatch(std::vector<Task>& tasks) {
  if (!WaitIdle().ok()) {
    // The previous batch failed: nothing of it is stored, so nothing cached is trusted.
    state_->Trim();
    state_->ClearPending();
    std::lock_guard<std::mutex> lock(mu_);
    last_commit_ = Status::Ok();
  }
  Result<Store::BatchStart> start = store_->BeginBatch();
  if (!start.ok()) {
    state_->Trim();
    state_->ClearPending();
    FailAll(tasks,
            Status(Code::kUnavailable, "storage unavailable, retry: " + start.status().message()));
    return false;
  }
  const Store::ForeignWrites& foreign = start->foreign;
  if (foreign.any) {
    // Another node committed since our last batch: what the caches hold of what it touched
    // is stale (all of them, when the store cannot say what). Under the lock BeginBatch
    // took, the store is exact until this batch commits.
    if (foreign.known) {
      state_->Forget(foreign.convs, foreign.users);
    } else {
      state_->Trim();
    }
    state_->ClearPending();
    state_->counters() = start->counters;
    committed_gseq_.store(start->counters.last_gseq, std::memory_order_release);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.foreign_commits++;
    if (!foreign.known) stats_.caches_dropped++;
  }
  return true;
}

std::unique_ptr<Sequencer::Staged> Sequencer::Stage(std::vector<Task>& tasks) {
  const auto start = std::chrono::steady_clock::now();
  auto staged = std::make_unique<Staged>();
  staged->batch = std::make_unique<CommitBatch>(state_.get(), store_, state_->NextBatchMillis(),
                                                feed_ != nullptr);
  CommitBatch& batch = *staged->batch;
  staged->results.reserve(tasks.size());
  for (auto& task : tasks) {
    staged->durable |= task.durable;
    size_t before = batch.writes().ops.size();
    staged->results.push_back(task.stage(batch));
    if (!staged->results.back().ok() && batch.writes().ops.size() != before) {
      // A half-staged request: abandon the batch rather than commit part of it.
      FailAll(tasks,
              Status(Code::kInternal, "batch abandoned: " + staged->results.back().ToString()));
      return nullptr;
    }
  }
  batch.Finalize();
  if (shared_) {
    auto [convs, users] = batch.TakeTouches();
    store_->NoteBatchTouches(std::move(convs), std::move(users));
  }
  staged->tasks = std::move(tasks);
  ObserveSince(timings_.stage, start, std::chrono::steady_clock::now());
  return staged;
}

void Sequencer::Commit() {
  for (;;) {
    std::unique_ptr<Staged> staged;
    {
      std::unique_lock<std::mutex> lock(mu_);
      commit_cv_.wait(lock, [&] { return handoff_ != nullptr || committer_exit_; });
      if (!handoff_) return;
      staged = std::move(handoff_);
    }
    CommitBatch& batch = *staged->batch;
    Status status;
    Durability durability = staged->durable ? config_.durability : Durability::kBuffered;
    // A shared store's batch is an open transaction: commit it even when empty (a batch of
    // dedup hits still waits, in the commit, for everything before it to be replicated).
    if (!batch.writes().empty() || shared_) {
      ApplyTiming timing;
      status = store_->ApplyTimed(batch.writes(), durability, &timing);
      const bool synced = durability == Durability::kSync && timing.sync_nanos >= 0;
      ObserveNanos(timings_.store_write,
                   synced ? timing.total_nanos - timing.sync_nanos : timing.total_nanos);
      if (synced) ObserveNanos(timings_.fsync, timing.sync_nanos);
    }
    if (status.ok()) {
      committed_gseq_.store(batch.notice().committed_gseq, std::memory_order_release);
      if (feed_) {
        // Queued before the acks, so whoever holds an ack can Flush the feed to see its
        // push; delivered (encoded, pushed) on the feed's thread, not this one.
        CommitNotice& notice = batch.notice();
        notice.tasks = staged->tasks.size();
        notice.committed_at = std::chrono::steady_clock::now();
        feed_->Publish(std::make_shared<const CommitNotice>(std::move(notice)));
      }
      for (size_t i = 0; i < staged->tasks.size(); ++i) {
        staged->tasks[i].done(staged->results[i]);
      }
    } else {
      for (auto& task : staged->tasks) task.done(status);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.batches++;
      stats_.tasks += staged->tasks.size();
      stats_.largest_batch = std::max<uint64_t>(stats_.largest_batch, staged->tasks.size());
      if (!status.ok()) stats_.commit_failures++;
      last_commit_ = status;
      committing_ = false;
    }
    commit_cv_.notify_all();
  }
}

}  // namespace parley
