#include "client/reliable_client.h"

#include <algorithm>

#include "client/backoff.h"

namespace parley::client {
namespace {

// Failures a retry cannot fix: the send is dropped from the journal and reported.
bool IsDefinitive(const Status& st) {
  if (IsTransportError(st)) return false;
  switch (st.code()) {
    case Code::kUnavailable:
    case Code::kRateLimited:
    case Code::kIOError:
    case Code::kInternal:
    case Code::kCorruption:       // the ack could not be read: it may have been stored
    case Code::kUnauthenticated:  // the token may come back valid after a server restore
      return false;
    default:
      return true;
  }
}

Status Stopped() { return Status(Code::kUnavailable, "reliable client stopped"); }

}  // namespace

ReliableClient::ReliableClient(Options options, StateStore* state, EventHandler on_event)
    : options_(std::move(options)), store_(state), on_event_(std::move(on_event)) {
  auto loaded = store_->Load();
  if (loaded.ok()) {
    state_ = std::move(loaded).value();
  } else {
    last_error_ = loaded.status();
  }
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_) current_->Abort();  // a blocked call returns now
  }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  if (std::this_thread::get_id() == thread_.get_id()) return;  // from a handler: no join
  thread_.join();
  std::unordered_map<std::string, SendCallback> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiters.swap(waiters_);
  }
  for (auto& [cmid, done] : waiters) {
    done(Status(Code::kUnavailable, "client stopped; the send stays journaled"));
  }
}

size_t ReliableClient::pending_sends() {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.journal.size();
}

Status ReliableClient::last_error() {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

std::future<Result<SendAck>> ReliableClient::Send(ConvId conv, std::string body) {
  OutgoingMessage m;
  m.conv = conv;
  m.body = std::move(body);
  auto promise = std::make_shared<std::promise<Result<SendAck>>>();
  auto future = promise->get_future();
  Send(std::move(m), [promise](Result<SendAck> r) { promise->set_value(std::move(r)); });
  return future;
}

std::future<Result<SendAck>> ReliableClient::SendTo(UserArg to, std::string body) {
  OutgoingMessage m;
  m.to = std::move(to);
  m.body = std::move(body);
  auto promise = std::make_shared<std::promise<Result<SendAck>>>();
  auto future = promise->get_future();
  Send(std::move(m), [promise](Result<SendAck> r) { promise->set_value(std::move(r)); });
  return future;
}

void ReliableClient::Send(OutgoingMessage m, SendCallback done) {
  PendingSend p;
  p.client_msg_id = m.client_msg_id.empty() ? NewClientMsgId() : std::move(m.client_msg_id);
  p.conv = m.conv;
  if (m.conv == 0) {
    p.to = std::move(m.to.name);
    if (p.to.empty()) p.to_user = m.to.id;
  }
  p.kind = m.kind;
  p.body = std::move(m.body);
  Status st;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.journal.push_back(p);
    st = store_->Save(state_);  // durable before it may go out
    if (st.ok()) {
      waiters_[p.client_msg_id] = std::move(done);
      new_sends_ = true;
    } else {
      state_.journal.pop_back();
    }
  }
  if (!st.ok()) return done(st);
  cv_.notify_all();
}

bool ReliableClient::SleepUnlessStopped(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_.load(); });
  return !stop_;
}

void ReliableClient::SetConnected(bool connected, const Status& why) {
  connected_ = connected;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = why;
  }
  if (options_.on_connection) options_.on_connection(connected, why);
}

void ReliableClient::Run() {
  Backoff backoff(options_.backoff_min_ms, options_.backoff_max_ms);
  for (bool first = true; !stop_; first = false) {
    if (!first) {
      ++reconnects_;
      if (!SleepUnlessStopped(backoff.NextDelayMs())) break;
    }
    ConnectOptions connect = options_.connect;
    connect.push_batches = true;  // NextPush hands a batch out one push at a time
    BlockingClient c(connect, options_.call_timeout);
    c.set_max_queued_frames(options_.max_queued_pushes);
    c.SetPushNotify([this] {
      {
        std::lock_guard<std::mutex> lock(mu_);
        wake_ = true;
      }
      cv_.notify_all();
    });
    std::string token, device;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) break;
      current_ = &c;
      wake_ = false;
      token = state_.token;
      device = state_.device;
    }
    Status st = c.Connect();
    if (st.ok()) {
      auto auth = c.Auth(token, device);
      if (auth.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        if (state_.user != auth->user || state_.name != auth->name ||
            state_.device != auth->device) {
          state_.user = auth->user;
          state_.name = auth->name;
          state_.device = auth->device;
          st = store_->Save(state_);
        }
      } else {
        st = auth.status();
      }
    }
    // Catch up first: resend what is journaled, pull what was missed.
    if (st.ok()) st = SendJournaled(c);
    if (st.ok()) st = Pull(c);
    if (st.ok()) {
      backoff.Reset();
      SetConnected(true, Status::Ok());
      st = Serve(c);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = nullptr;
    }
    c.Abort();
    if (!stop_) SetConnected(false, st);
  }
  connected_ = false;
}

Status ReliableClient::Serve(BlockingClient& c) {
  // Wake at least this often: to notice a closed connection, and to check the heartbeat a
  // few times per idle period.
  auto tick = std::chrono::milliseconds(1000);
  if (options_.heartbeat_idle_ms > 0) {
    tick = std::clamp(std::chrono::milliseconds(options_.heartbeat_idle_ms / 4),
                      std::chrono::milliseconds(10), tick);
  }
  while (!stop_) {
    if (!c.open()) {
      Status why = c.close_status();
      return why.ok() ? TransportError("connection closed") : why;
    }
    bool sends = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, tick, [&] { return stop_ || new_sends_ || wake_; });
      sends = new_sends_;
      new_sends_ = false;
      wake_ = false;
    }
    if (sends) PARLEY_RETURN_IF_ERROR(SendJournaled(c));
    while (auto push = c.NextPush(std::chrono::milliseconds(0))) {
      PARLEY_RETURN_IF_ERROR(HandlePush(c, *push));
    }
    PARLEY_RETURN_IF_ERROR(Heartbeat(c));
  }
  return Stopped();
}

Status ReliableClient::Heartbeat(BlockingClient& c) {
  if (options_.heartbeat_idle_ms <= 0) return Status::Ok();
  if (c.quiet_for().count() < options_.heartbeat_idle_ms) return Status::Ok();
  ++heartbeats_sent_;
  Status st =
      c.Ping(std::chrono::milliseconds(std::max<int64_t>(1, options_.heartbeat_timeout_ms)));
  // An error reply is still an answer: the server is alive.
  if (st.ok() || !IsTransportError(st)) return Status::Ok();
  ++heartbeats_missed_;
  return TransportError("heartbeat unanswered (silent for " +
                        std::to_string(options_.heartbeat_idle_ms) + " ms, no pong within " +
                        std::to_string(options_.heartbeat_timeout_ms) + " ms): " + st.message());
}

Status ReliableClient::HandlePush(BlockingClient& c, const Push& push) {
  switch (push.kind) {
    case Push::Kind::kResync:
      return Pull(c);
    case Push::Kind::kHead:
      if (options_.on_head) options_.on_head(HeadInfo{push.conv, push.seq, push.ts});
      return Status::Ok();
    case Push::Kind::kTyping:
      if (options_.on_typing) options_.on_typing(push.conv, push.user);
      return Status::Ok();
    case Push::Kind::kUnknown:
      return Status::Ok();
    case Push::Kind::kEvent:
      break;
  }
  const InboxEvent& e = push.item.event;
  PARLEY_RETURN_IF_ERROR(SkipOwn());
  const Seq cursor = cursor_.load();
  if (e.user_seq <= cursor) return Status::Ok();  // already delivered (a pull overtook it)
  const bool needs_message = EventCarriesMessage(e.type);
  if (e.user_seq == cursor + 1 && (push.item.message || !needs_message)) {
    PARLEY_RETURN_IF_ERROR(Deliver(push.item));
    return SkipOwn();
  }
  return Pull(c);  // a gap: pushes were lost; the sync timeline has them
}

Status ReliableClient::Deliver(const SyncItem& item) {
  on_event_(item);
  std::lock_guard<std::mutex> lock(mu_);
  state_.cursor = std::max(state_.cursor, item.event.user_seq);
  cursor_ = state_.cursor;
  return store_->Save(state_);
}

Status ReliableClient::NoteOwn(Seq user_seq) {
  if (user_seq <= cursor_.load()) return Status::Ok();
  own_seqs_.insert(user_seq);
  return SkipOwn();
}

Status ReliableClient::SkipOwn() {
  if (own_seqs_.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  const Seq before = state_.cursor;
  while (!own_seqs_.empty() && *own_seqs_.begin() <= state_.cursor + 1) {
    state_.cursor = std::max(state_.cursor, *own_seqs_.begin());
    own_seqs_.erase(own_seqs_.begin());
  }
  if (state_.cursor == before) return Status::Ok();
  cursor_ = state_.cursor;
  return store_->Save(state_);
}

Status ReliableClient::Pull(BlockingClient& c) {
  for (;;) {
    if (stop_) return Stopped();
    Seq since;
    uint64_t heads_since;
    {
      std::lock_guard<std::mutex> lock(mu_);
      since = state_.cursor;
      heads_since = state_.heads_since;
    }
    auto reply = c.Sync(since, options_.sync_page, heads_since);
    if (!reply.ok()) return reply.status();
    if (reply->reset && options_.on_reset) options_.on_reset();
    for (const SyncItem& item : reply->items) {
      if (item.event.user_seq <= cursor_.load()) continue;
      if (own_seqs_.erase(item.event.user_seq)) continue;  // acked: stepped over below
      PARLEY_RETURN_IF_ERROR(Deliver(item));
    }
    if (options_.on_head) {
      for (const HeadInfo& h : reply->heads) options_.on_head(h);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_.cursor = std::max(state_.cursor, reply->next);
      cursor_ = state_.cursor;
      state_.heads_since = std::max(state_.heads_since, reply->heads_next);
      PARLEY_RETURN_IF_ERROR(store_->Save(state_));
      std::erase_if(own_seqs_, [&](Seq own) { return own <= state_.cursor; });
    }
    if (!reply->has_more) return Status::Ok();
    if (reply->next <= since) return Internal("sync says has_more but made no progress");
  }
}

Status ReliableClient::SendJournaled(BlockingClient& c) {
  std::vector<PendingSend> journal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    journal = state_.journal;
  }
  for (const PendingSend& p : journal) {
    OutgoingMessage m;
    m.conv = p.conv;
    m.to = p.to.empty() ? UserArg(p.to_user) : UserArg(p.to);
    m.kind = p.kind;
    m.body = p.body;
    m.client_msg_id = p.client_msg_id;
    for (;;) {
      if (stop_) return Stopped();
      int64_t retry_after_ms = -1;
      auto ack = c.SendMessage(m, &retry_after_ms);
      // The server's own refusals (not a lost connection): `rate_limited`, or `unavailable`
      // while its disk is behind (docs/faults.md "Slow fsync").
      const bool told_to_wait =
          !ack.ok() && !IsTransportError(ack.status()) &&
          (ack.status().code() == Code::kRateLimited || ack.status().code() == Code::kUnavailable);
      if (told_to_wait) {
        // Wait on this connection as told: reconnecting would not make it sooner.
        const int64_t wait_ms = retry_after_ms < 0 ? 1000 : retry_after_ms;
        if (!SleepUnlessStopped(std::clamp<int64_t>(wait_ms, 10, 60000))) return Stopped();
        continue;
      }
      if (!ack.ok() && !IsDefinitive(ack.status())) return ack.status();
      Finish(p, ack);
      if (ack.ok()) PARLEY_RETURN_IF_ERROR(NoteOwn(ack->user_seq));
      break;
    }
  }
  return Status::Ok();
}

void ReliableClient::Finish(const PendingSend& p, const Result<SendAck>& result) {
  SendCallback done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(state_.journal,
                  [&](const PendingSend& q) { return q.client_msg_id == p.client_msg_id; });
    // If this save fails the entry stays in the file: a later process resends it and the
    // server answers duplicate:true, which is harmless.
    store_->Save(state_).IgnoreError();
    auto it = waiters_.find(p.client_msg_id);
    if (it != waiters_.end()) {
      done = std::move(it->second);
      waiters_.erase(it);
    }
  }
  if (done) done(result);
  if (options_.on_send_done) options_.on_send_done(p, result);
}

}  // namespace parley::client
