#include "client/reliable_client.h"

#include <random>

namespace parley::client {
namespace {

// Failures that a retry cannot fix: the send is dropped from the journal and reported.
bool IsDefinitive(Code code) {
  switch (code) {
    case Code::kUnavailable:
    case Code::kRateLimited:
    case Code::kIOError:
    case Code::kInternal:
    case Code::kUnauthenticated:  // the token may come back valid after a server restore
      return false;
    default:
      return true;
  }
}

}  // namespace

ReliableClient::ReliableClient(Options options, StateStore* state, EventHandler on_event)
    : options_(std::move(options)), store_(state), on_event_(std::move(on_event)) {
  auto loaded = store_->Load();
  if (loaded.ok()) state_ = *loaded;
  cursor_ = state_.cursor;
}

ReliableClient::~ReliableClient() { Stop(); }

void ReliableClient::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void ReliableClient::Stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t ReliableClient::pending_sends() {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.journal.size();
}

Status ReliableClient::Persist() { return store_->Save(state_); }

std::future<Result<SendAck>> ReliableClient::Send(ConvId conv, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  PendingSend p{NewClientMsgId(), conv, "", std::move(body)};
  std::promise<Result<SendAck>> promise;
  auto future = promise.get_future();
  state_.journal.push_back(p);
  if (Status st = Persist(); !st.ok()) {
    state_.journal.pop_back();
    promise.set_value(st);
    return future;
  }
  promises_.emplace(p.client_msg_id, std::move(promise));
  new_sends_ = true;
  cv_.notify_all();
  return future;
}

void ReliableClient::Run() {
  std::mt19937_64 rng(std::random_device{}());
  int64_t backoff = options_.backoff_min_ms;
  bool first = true;
  while (!stop_) {
    if (!first) {
      // Jitter spreads the reconnects of many clients after a server restart.
      int64_t wait =
          backoff / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(backoff / 2 + 1));
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_.load(); });
      if (stop_) break;
      backoff = std::min(backoff * 2, options_.backoff_max_ms);
      reconnects_++;
    }
    first = false;
    BlockingClient c(options_.connect, std::chrono::seconds(10));
    if (!c.Connect().ok()) continue;
    std::string token, device;
    {
      std::lock_guard<std::mutex> lock(mu_);
      token = state_.token;
      device = state_.device;
    }
    if (!c.Auth(token, device).ok()) continue;
    connected_ = true;
    backoff = options_.backoff_min_ms;
    Serve(c);
    connected_ = false;
  }
}

void ReliableClient::Serve(BlockingClient& c) {
  if (!SendJournaled(c).ok() || !Pull(c).ok()) return;
  while (!stop_ && c.open()) {
    bool sends = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sends = new_sends_;
      new_sends_ = false;
    }
    if (sends && !SendJournaled(c).ok()) return;
    auto push = c.NextPush(std::chrono::milliseconds(20));
    if (!push) continue;
    if (push->kind == Push::Kind::kResync) {
      if (!Pull(c).ok()) return;
      continue;
    }
    if (push->kind != Push::Kind::kEvent) continue;
    const Seq seq = push->item.event.user_seq;
    if (seq <= cursor_) continue;  // already processed (a pull overtook the push)
    if (seq == cursor_ + 1 &&
        (push->item.message || (push->item.event.type != EventType::kMessage &&
                                push->item.event.type != EventType::kRecall))) {
      if (!Deliver(push->item).ok()) return;
      continue;
    }
    if (!Pull(c).ok()) return;  // a gap: pull what was missed
  }
}

Status ReliableClient::Deliver(const SyncItem& item) {
  on_event_(item);
  std::lock_guard<std::mutex> lock(mu_);
  state_.cursor = item.event.user_seq;
  cursor_ = state_.cursor;
  return Persist();
}

Status ReliableClient::Pull(BlockingClient& c) {
  for (int page = 0; page < 1'000'000 && !stop_; ++page) {
    auto reply = c.Sync(cursor_, options_.sync_page, state_.heads_since);
    if (!reply.ok()) return reply.status();
    for (const auto& item : reply->items) {
      if (item.event.user_seq <= cursor_) continue;
      PARLEY_RETURN_IF_ERROR(Deliver(item));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_.cursor = std::max(state_.cursor, reply->next);
      cursor_ = state_.cursor;
      state_.heads_since = reply->heads_next;
      PARLEY_RETURN_IF_ERROR(Persist());
    }
    if (!reply->has_more) return Status::Ok();
  }
  return Status::Ok();
}

Status ReliableClient::SendJournaled(BlockingClient& c) {
  std::vector<PendingSend> journal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    journal = state_.journal;
  }
  for (const auto& p : journal) {
    if (stop_) return Status(Code::kUnavailable, "stopping");
    auto ack =
        p.conv ? c.Send(p.conv, p.body, p.client_msg_id) : c.SendTo(p.to, p.body, p.client_msg_id);
    if (!ack.ok() && !IsDefinitive(ack.status().code())) return ack.status();
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(state_.journal,
                  [&](const PendingSend& q) { return q.client_msg_id == p.client_msg_id; });
    PARLEY_RETURN_IF_ERROR(Persist());
    auto it = promises_.find(p.client_msg_id);
    if (it != promises_.end()) {
      it->second.set_value(ack);
      promises_.erase(it);
    }
  }
  return Status::Ok();
}

}  // namespace parley::client
