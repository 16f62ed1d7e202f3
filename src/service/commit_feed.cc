#include "service/commit_feed.h"

#include <algorithm>
#include <chrono>

namespace parley {

CommitFeed::Subscription& CommitFeed::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Reset();
    feed_ = other.feed_;
    id_ = other.id_;
    other.feed_ = nullptr;
  }
  return *this;
}

void CommitFeed::Subscription::Reset() {
  if (feed_ == nullptr) return;
  feed_->Unsubscribe(id_);
  feed_ = nullptr;
}

CommitFeed::CommitFeed(CommitFeedOptions options)
    : options_(options), subscribers_(std::make_shared<const Subscribers>()) {
  thread_ = std::thread([this] { Run(); });
  dispatch_id_ = thread_.get_id();
}

CommitFeed::~CommitFeed() { Stop(); }

CommitFeed::Subscription CommitFeed::Subscribe(std::string name, OnCommit on_commit, OnGap on_gap) {
  std::lock_guard<std::mutex> lock(subscribers_mu_);
  auto sub = std::make_shared<Subscriber>();
  sub->id = ++next_id_;
  sub->name = std::move(name);
  sub->on_commit = std::move(on_commit);
  sub->on_gap = std::move(on_gap);
  auto next = std::make_shared<Subscribers>(*subscribers_);
  next->push_back(std::move(sub));
  subscribers_ = std::move(next);
  return Subscription(this, next_id_);
}

void CommitFeed::Unsubscribe(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(subscribers_mu_);
    auto next = std::make_shared<Subscribers>(*subscribers_);
    next->erase(
        std::remove_if(next->begin(), next->end(), [id](const auto& s) { return s->id == id; }),
        next->end());
    subscribers_ = std::move(next);
  }
  // A delivery that took the old list may still be calling it: wait for it to end. On the
  // dispatch thread that delivery is the caller's own, which goes on after we return.
  if (std::this_thread::get_id() != dispatch_id_) {
    std::lock_guard<std::mutex> wait_for_delivery(delivering_mu_);
  }
}

void CommitFeed::Publish(Notice notice) {
  if (!notice) return;
  const size_t weight = Weight(*notice);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    ++published_;
    ++stats_.published;
    const bool full = queue_.size() >= options_.max_queued_notices ||
                      queued_events_ + weight > options_.max_queued_events;
    // Once dropping, keep dropping until the queue has drained and the gap is reported:
    // the gap must come after every notice queued before it and before every one after.
    if (pending_gap_.notices > 0 || (full && !queue_.empty())) {
      ++pending_gap_.notices;
      pending_gap_.committed_gseq = std::max(pending_gap_.committed_gseq, notice->committed_gseq);
      ++stats_.dropped;
      return;
    }
    queued_events_ += weight;
    queue_.push_back(Entry{std::move(notice), {}});
  }
  wake_.notify_one();
}

void CommitFeed::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = published_;
  handled_.wait(lock, [&] { return handled_count_ >= target || finished_; });
}

void CommitFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

CommitFeed::Stats CommitFeed::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  return s;
}

double CommitFeed::busy_seconds(const std::string& name) const {
  std::shared_ptr<const Subscribers> subs;
  {
    std::lock_guard<std::mutex> lock(subscribers_mu_);
    subs = subscribers_;
  }
  uint64_t ns = 0;
  for (const auto& s : *subs) {
    if (s->name == name) ns += s->busy_ns.load(std::memory_order_relaxed);
  }
  return static_cast<double>(ns) / 1e9;
}

void CommitFeed::Run() {
  for (;;) {
    Entry entry;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || pending_gap_.notices > 0; });
      if (!queue_.empty()) {
        entry = std::move(queue_.front());
        queue_.pop_front();
        queued_events_ -= Weight(*entry.notice);
      } else if (pending_gap_.notices > 0) {
        // The queue has drained: report the drops, and accept notices again.
        entry.gap = pending_gap_;
        pending_gap_ = CommitGap{};
      } else {
        finished_ = true;  // stopping, and everything queued is delivered
        break;
      }
    }
    Deliver(entry);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (entry.notice) {
        ++handled_count_;
        ++stats_.delivered;
      } else {
        handled_count_ += entry.gap.notices;
        ++stats_.gaps;
      }
    }
    handled_.notify_all();
  }
  handled_.notify_all();
}

void CommitFeed::Deliver(const Entry& entry) {
  std::lock_guard<std::mutex> delivering(delivering_mu_);
  std::shared_ptr<const Subscribers> subs;
  {
    std::lock_guard<std::mutex> lock(subscribers_mu_);
    subs = subscribers_;
  }
  for (const auto& s : *subs) {
    const auto started = std::chrono::steady_clock::now();
    if (entry.notice) {
      s->on_commit(entry.notice);
    } else if (s->on_gap) {
      s->on_gap(entry.gap);
    }
    const auto spent = std::chrono::steady_clock::now() - started;
    s->busy_ns.fetch_add(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(spent).count()),
        std::memory_order_relaxed);
  }
}

}  // namespace parley
