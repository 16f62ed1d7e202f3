#include "search/indexer.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/background_thread.h"
#include "common/clock.h"
#include "model/names.h"

namespace parley::search {
namespace {

// The words a message is found by: a text's body; a file or image message's caption and
// file names (its stored body describes each attachment); nothing of a custom payload.
std::optional<std::string> SearchableText(const MessageRecord& m) {
  if (m.kind == MessageKind::kText) return m.body;
  if (!HasAttachments(m.kind)) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  if (parser.parse(m.body.data(), m.body.size()).get(body)) return std::nullopt;
  std::string text;
  std::string_view caption;
  if (!body["caption"].get(caption)) text = caption;
  simdjson::dom::array attachments;
  if (!body["attachments"].get(attachments)) {
    for (simdjson::dom::element a : attachments) {
      std::string_view name;
      if (a["name"].get(name)) continue;
      if (!text.empty()) text += '\n';
      text += name;
    }
  }
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace

Indexer::Indexer(Store& store, SearchIndex& index, IndexerOptions options)
    : store_(store), index_(index), options_(std::move(options)) {
  auto counters = store_.LoadCounters();
  if (counters.ok()) committed_ = counters->last_gseq;
}

Indexer::~Indexer() { Stop(); }

void Indexer::Start(CommitFeed* feed) {
  thread_ = std::thread([this] { Run(); });
  if (feed) {
    feed_subscription_ = feed->Subscribe(
        "search", [this](const CommitFeed::Notice& notice) { Notify(notice->committed_gseq); },
        [this](const CommitGap& gap) { Notify(gap.committed_gseq); });
  }
}

void Indexer::Stop() {
  feed_subscription_.Reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Indexer::Notify(uint64_t committed_gseq) {
  uint64_t seen = committed_.load(std::memory_order_relaxed);
  while (seen < committed_gseq && !committed_.compare_exchange_weak(seen, committed_gseq)) {
  }
  if (oldest_pending_ms_.load(std::memory_order_relaxed) == 0) {
    int64_t zero = 0;
    oldest_pending_ms_.compare_exchange_strong(zero, NowMillis());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  wake_.notify_one();
}

uint64_t Indexer::lag_changes() const {
  uint64_t done = index_.checkpoint(), committed = committed_.load(std::memory_order_relaxed);
  return committed > done ? committed - done : 0;
}

double Indexer::lag_seconds() const {
  int64_t oldest = oldest_pending_ms_.load(std::memory_order_relaxed);
  if (oldest == 0 || lag_changes() == 0) return 0;
  return static_cast<double>(NowMillis() - oldest) / 1000.0;
}

Result<bool> Indexer::Step() {
  const uint64_t after = index_.checkpoint();
  PARLEY_ASSIGN_OR_RETURN(auto changes, store_.ScanChanges(after, options_.batch_changes));
  if (changes.empty()) {
    oldest_pending_ms_.store(0, std::memory_order_relaxed);
    return false;
  }
  oldest_pending_ms_.store(changes.front().ms, std::memory_order_relaxed);
  const auto started = std::chrono::steady_clock::now();
  std::vector<MessageKey> keys;
  keys.reserve(changes.size());
  for (const ChangeRecord& c : changes) keys.push_back(MessageKey{c.conv_id, c.conv_seq});
  auto messages = store_.GetMessages(keys);
  IndexBatch batch;
  batch.checkpoint = changes.back().gseq;
  for (size_t i = 0; i < changes.size(); ++i) {
    const ChangeRecord& change = changes[i];
    if (!messages[i].ok()) {
      // A change always names a stored message; anything else is a store failure, and the
      // batch is retried rather than skipped.
      return messages[i].status();
    }
    const MessageRecord& m = *messages[i];
    if (change.kind == ChangeKind::kRecall || m.recalled) {
      if (change.kind != ChangeKind::kMessage) batch.removals.push_back(m.msg_id);
      continue;  // a message recalled before we saw it is never added
    }
    std::optional<std::string> text = SearchableText(m);
    if (!text) continue;
    batch.upserts.push_back(IndexedMessage{m.msg_id, m.conv_id, m.seq, m.sender, m.server_ms,
                                           std::move(*text), change.kind != ChangeKind::kMessage});
  }
  PARLEY_RETURN_IF_ERROR(index_.Apply(batch));
  if (options_.on_batch) {
    options_.on_batch(
        batch.upserts.size() + batch.removals.size(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  // What remains was committed no earlier than the last change indexed now.
  oldest_pending_ms_.store(lag_changes() > 0 ? changes.back().ms : 0, std::memory_order_relaxed);
  return true;
}

Status Indexer::CatchUp() {
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(bool worked, Step());
    if (!worked) return Status::Ok();
  }
}

void Indexer::Run() {
  // Indexing never delays a message: it takes only the CPU the message path leaves over
  // (its locks are held for moments; the SQLite writer's only waiter is itself).
  BecomeBackgroundThread();
  int failures = 0;
  bool settled = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_) return;
      const uint64_t lag = lag_changes();
      if (!settled && options_.settle_ms > 0 && lag > 0 && lag < options_.batch_changes) {
        // Let a trickle of commits gather into one index transaction (a bounded wait).
        wake_.wait_for(lock, std::chrono::milliseconds(options_.settle_ms), [&] { return stop_; });
        if (stop_) return;
      }
      poked_ = false;
    }
    auto worked = Step();
    if (!worked.ok()) {
      failures_total_.fetch_add(1, std::memory_order_relaxed);
      if (failures == 0) {
        spdlog::error(
            "search index: indexing failed, retrying with a backoff (searches answer from what "
            "is indexed; nothing is skipped): {}",
            worked.status().ToString());
      }
    } else if (failures > 0) {
      spdlog::warn("search index: indexing resumed after {} failed attempts", failures);
    }
    failures = worked.ok() ? 0 : failures + 1;
    settled = worked.ok() && *worked;
    if (settled) continue;  // more may be waiting: no need to settle again
    std::unique_lock<std::mutex> lock(mu_);
    // After a failure back off (up to 5 s) instead of spinning on a broken store.
    const int wait_ms =
        failures > 0 ? std::min(5000, 100 << std::min(failures, 6)) : options_.idle_poll_ms;
    wake_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                   [&] { return stop_ || (poked_ && failures == 0); });
  }
}

}  // namespace parley::search
