#include "service/sequencer.h"

#include <algorithm>

#include "common/clock.h"

namespace parley {

// Caches owned by the sequencer thread. Everything here either is committed or belongs to
// the batch being built; when a commit fails it is all dropped and reloaded.
class SequencerState {
 public:
  explicit SequencerState(Store* store) : store_(store) {}

  Status Reload() {
    convs_.clear();
    user_seqs_.clear();
    PARLEY_ASSIGN_OR_RETURN(counters_, store_->LoadCounters());
    return Status::Ok();
  }

  // Keeps memory bounded: the caches are only a speed-up, so dropping them between
  // batches is always safe.
  void Trim(const ServiceConfig& config) {
    if (convs_.size() > config.conv_cache_max) convs_.clear();
    if (user_seqs_.size() > config.user_cache_max) user_seqs_.clear();
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

 private:
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

Result<ConvState*> CommitBatch::Conv(ConvId id) { return state_->Conv(id); }

ConvState* CommitBatch::AddConv(ConversationRecord conv) {
  return state_->AddConv(std::move(conv));
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

Status CommitBatch::Emit(InboxEvent event) {
  PARLEY_ASSIGN_OR_RETURN(event.user_seq, state_->NextUserSeq(event.user_id));
  writes_.Add(op::PutInboxEvent{event});
  if (collect_notice_) notice_.events.push_back(event);
  return Status::Ok();
}

void CommitBatch::NotifyConvMoved(ConvState* state) {
  if (!collect_notice_) return;
  notice_.conv_moves.push_back(
      ConvMoved{state->conv.id, state->head.last_seq, state->head.last_gseq, state->MemberIds()});
}

void CommitBatch::Finalize() {
  for (ConvState* s : dirty_heads_) writes_.Add(op::PutConvHead{s->conv.id, s->head});
  if (counters_dirty_) writes_.Add(op::PutCounters{state_->counters()});
  notice_.committed_gseq = state_->counters().last_gseq;
}

// --- Sequencer

Result<std::unique_ptr<Sequencer>> Sequencer::Start(Store* store, const ServiceConfig& config,
                                                    CommitListener* listener) {
  auto state = std::make_unique<SequencerState>(store);
  PARLEY_RETURN_IF_ERROR(state->Reload());
  std::unique_ptr<Sequencer> seq(new Sequencer(store, config, listener, std::move(state)));
  seq->committed_gseq_.store(seq->state_->counters().last_gseq);
  seq->thread_ = std::thread([s = seq.get()] { s->Run(); });
  return seq;
}

Sequencer::Sequencer(Store* store, const ServiceConfig& config, CommitListener* listener,
                     std::unique_ptr<SequencerState> state)
    : store_(store), config_(config), listener_(listener), state_(std::move(state)) {}

Sequencer::~Sequencer() { Stop(); }

void Sequencer::Submit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(task));
      if (queue_.size() == 1) cv_.notify_one();
      return;
    }
  }
  task.done(Status(Code::kUnavailable, "server is shutting down"));
}

void Sequencer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

SequencerStats Sequencer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Sequencer::Run() {
  std::vector<Task> tasks;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been committed
      size_t n = std::min(queue_.size(), config_.max_batch);
      tasks.clear();
      for (size_t i = 0; i < n; ++i) {
        tasks.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(tasks);
  }
}

void Sequencer::RunBatch(std::vector<Task>& tasks) {
  state_->Trim(config_);
  CommitBatch batch(state_.get(), store_, state_->NextBatchMillis(), listener_ != nullptr);
  std::vector<Status> results;
  results.reserve(tasks.size());
  Status batch_status;
  for (auto& task : tasks) {
    size_t before = batch.writes().ops.size();
    results.push_back(task.stage(batch));
    if (!results.back().ok() && batch.writes().ops.size() != before) {
      // A half-staged request: abandon the batch rather than commit part of it.
      batch_status = Status(Code::kInternal, "batch abandoned: " + results.back().ToString());
      break;
    }
  }
  if (batch_status.ok()) {
    batch.Finalize();
    if (!batch.writes().empty()) batch_status = store_->Apply(batch.writes(), config_.durability);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.batches++;
    stats_.tasks += tasks.size();
    stats_.largest_batch = std::max<uint64_t>(stats_.largest_batch, tasks.size());
    if (!batch_status.ok()) stats_.commit_failures++;
  }
  if (!batch_status.ok()) {
    // Nothing of this batch is stored; forget what was staged and start from the store.
    Status reload = state_->Reload();
    for (auto& task : tasks) task.done(batch_status);
    if (!reload.ok()) {
      // The store cannot be read: refuse everything until restarted.
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    return;
  }
  committed_gseq_.store(state_->counters().last_gseq, std::memory_order_release);
  if (listener_) listener_->OnCommit(batch.notice());
  for (size_t i = 0; i < tasks.size(); ++i) {
    tasks[i].done(i < results.size() ? results[i] : batch_status);
  }
}

}  // namespace parley
