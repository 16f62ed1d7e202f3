#include "gateway/ws_session.h"

#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "common/clock.h"
#include "gateway/connection_errors.h"
#include "gateway/live_sessions.h"
#include "metrics/stages.h"
#include "protocol/encode.h"

namespace parley {
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// Unanswered requests per connection before the session stops reading.
constexpr int64_t kMaxInFlight = 256;
// A read buffer above this is released once drained, so one big frame does not pin
// memory on an idle connection.
constexpr size_t kKeepBufferBytes = 16 * 1024;
// A batch buffer above this is released after its write.
constexpr size_t kKeepBatchBytes = 64 * 1024;

using SteadyClock = std::chrono::steady_clock;
using metrics::Seconds;

}  // namespace

WsSession::WsSession(ServerStream stream, GatewayContext& ctx, ConnectionSlot slot)
    : ws_(std::move(stream)),
      ctx_(ctx),
      slot_(std::move(slot)),
      state_(ctx.dispatcher->NewSessionState()),
      auth_timer_(ws_.get_executor()),
      resume_timer_(ws_.get_executor()) {
  boost::system::error_code ec;
  auto peer = ws_.next_layer().tcp().socket().remote_endpoint(ec);
  if (!ec) state_.peer_ip = peer.address().to_string();
}

WsSession::~WsSession() {
  ctx_.in_flight.fetch_sub(in_flight_, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(ctx_.sessions_mu);
  ctx_.sessions.erase(id_);
}

void WsSession::Start(Request upgrade, std::string client_ip) {
  if (!client_ip.empty()) state_.peer_ip = std::move(client_ip);
  {
    std::lock_guard<std::mutex> lock(ctx_.sessions_mu);
    id_ = ++ctx_.next_session_id;
    ctx_.sessions.emplace(id_, weak_from_this());
  }
  state_.session_id = id_;
  const GatewayConfig& c = ctx_.config;
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = std::chrono::seconds(10);
  timeout.idle_timeout = std::chrono::milliseconds(c.idle_timeout_ms);
  timeout.keep_alive_pings = true;
  ws_.set_option(timeout);
  ws_.read_message_max(c.max_frame_hard_bytes);
  ws_.auto_fragment(false);
  if (c.permessage_deflate) {
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    pmd.server_max_window_bits = c.deflate_server_max_window_bits;
    pmd.client_max_window_bits = c.deflate_client_max_window_bits;
    pmd.memLevel = c.deflate_mem_level;
    pmd.compLevel = c.deflate_comp_level;
    pmd.server_no_context_takeover = c.deflate_server_no_context_takeover;
    pmd.client_no_context_takeover = c.deflate_client_no_context_takeover;
    ws_.set_option(pmd);
    // Beast compresses through a per-connection buffer of this size, kept once allocated
    // (default 4 KiB); longer compressed messages go out in several frames.
    ws_.write_buffer_bytes(1024);
  }
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "parleyd/" PARLEY_VERSION);
  }));
  ws_.async_accept(upgrade,
                   [self = shared_from_this()](beast::error_code ec) { self->OnAccept(ec); });
}

void WsSession::OnAccept(beast::error_code ec) {
  if (ec) return Fail(ec, ConnectionStep::kWsHandshake);
  auth_timer_.expires_after(std::chrono::milliseconds(ctx_.config.auth_timeout_ms));
  auth_timer_.async_wait([weak = weak_from_this()](beast::error_code timer_ec) {
    auto self = weak.lock();
    if (timer_ec || !self || self->state_.identity) return;
    self->CloseWith(1008, "authentication timeout");
  });
  MaybeRead();
}

bool WsSession::OutboxFull() const {
  return outbox_.size() >= ctx_.config.outbox_max_frames ||
         outbox_bytes_ >= ctx_.config.outbox_max_bytes;
}

bool WsSession::ReadHeld() {
  if (state_.ordered_hops > 0) return true;  // RunOnSession resumes when the hop ends
  int64_t wait_us = state_.read_resume_us - MonotonicNanos() / 1000;
  if (wait_us <= 0) return false;
  if (!resume_armed_) {
    resume_armed_ = true;
    resume_timer_.expires_after(std::chrono::microseconds(wait_us));
    // A strong reference: while reading is held nothing else may keep the session alive
    // (the hub holds sessions weakly). Finish() cancels the timer, which then lets go.
    resume_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      self->resume_armed_ = false;
      if (!ec) self->MaybeRead();
    });
  }
  return true;
}

void WsSession::MaybeRead() {
  if (reading_ || closing_ || finished_ || OutboxFull() || in_flight_ >= kMaxInFlight) return;
  if (ReadHeld()) return;
  // While a login is checked nothing more is read, so the next frame is read under the
  // limits of the outcome.
  if (state_.auth_pending) return;
  ApplyReadLimit();
  reading_ = true;
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t bytes) {
    self->OnRead(ec, bytes);
  });
}

// An unauthenticated client may make the server hold only max_frame_bytes_before_auth of
// message: Beast checks read_message_max against the inflated size of a compressed
// message as it inflates, and closes with 1009 beyond it.
void WsSession::ApplyReadLimit() {
  const GatewayConfig& c = ctx_.config;
  ws_.read_message_max(state_.identity ? c.max_frame_hard_bytes : c.max_frame_bytes_before_auth);
}

void WsSession::OnRead(beast::error_code ec, size_t bytes) {
  reading_ = false;
  // Closed or timed out (expected), too big (1009) or bad UTF-8 (1007) (reported).
  if (ec) return Fail(ec, ConnectionStep::kWsRead);
  const auto read_at = SteadyClock::now();
  auto self = shared_from_this();
  ++in_flight_;
  ctx_.in_flight.fetch_add(1, std::memory_order_relaxed);
  if (!ws_.got_text()) {
    ctx_.dispatcher->OnBinary(self);
  } else if (bytes > ctx_.config.max_frame_bytes) {
    ctx_.dispatcher->OnTooLarge(self, bytes);
  } else {
    const auto data = buffer_.cdata();
    ctx_.dispatcher->OnText(self,
                            std::string_view(static_cast<const char*>(data.data()), data.size()));
  }
  ctx_.metrics->stage_frame_parse.Observe(Seconds(SteadyClock::now() - read_at));
  buffer_.consume(buffer_.size());
  if (buffer_.capacity() > kKeepBufferBytes) buffer_.shrink_to_fit();
  MaybeRead();
}

void WsSession::Reply(std::string frame) {
  auto shared = std::make_shared<const std::string>(std::move(frame));
  const auto called = SteadyClock::now();
  boost::asio::post(ws_.get_executor(), [self = shared_from_this(), shared, called]() mutable {
    const auto now = SteadyClock::now();
    self->ctx_.metrics->stage_ack_post.Observe(Seconds(now - called));
    --self->in_flight_;
    self->ctx_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    self->Push(std::move(shared), false, now);
    self->MaybeWrite();
    self->MaybeRead();
  });
}

void WsSession::Deliver(std::vector<Frame> frames) {
  const auto called = SteadyClock::now();
  boost::asio::post(ws_.get_executor(),
                    [self = shared_from_this(), frames = std::move(frames), called] {
                      const auto now = SteadyClock::now();
                      self->ctx_.metrics->stage_push_post.Observe(Seconds(now - called));
                      // All queued before the write starts: one batch frame for a client
                      // that asked for batches.
                      for (const auto& f : frames) {
                        if (self->resync_pending_ || self->OutboxFull()) {
                          // A slow reader: drop instead of growing; the client will pull
                          // after `resync`.
                          self->resync_pending_ = true;
                          self->ctx_.metrics->pushes_dropped.Inc();
                          continue;
                        }
                        self->Push(f, true, now);
                      }
                      self->MaybeWrite();
                    });
}

void WsSession::Revoke(uint16_t code, std::string reason) {
  boost::asio::post(ws_.get_executor(),
                    [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
                      // No longer acting for the user: frames still read before the close
                      // completes are refused as unauthenticated. The hub has detached us.
                      self->state_.identity.reset();
                      self->state_.revoked = true;
                      self->ctx_.metrics->sessions_revoked.Inc();
                      self->CloseWith(code, std::move(reason));
                    });
}

void WsSession::RunOnSession(std::function<void()> fn) {
  boost::asio::post(ws_.get_executor(), [self = shared_from_this(), fn = std::move(fn)] {
    fn();
    self->MaybeRead();
  });
}

void WsSession::CloseWith(uint16_t code, std::string reason) {
  boost::asio::post(ws_.get_executor(),
                    [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
                      if (self->closing_ || self->finished_) return;
                      self->closing_ = true;
                      self->close_code_ = code;
                      self->close_reason_ = std::move(reason);
                      self->MaybeWrite();
                    });
}

void WsSession::Push(Frame frame, bool push, SteadyClock::time_point now) {
  if (finished_) return;
  outbox_bytes_ += frame->size();
  outbox_.push_back(OutFrame{std::move(frame), push, now});
}

void WsSession::Enqueue(Frame frame, bool push) {
  Push(std::move(frame), push, SteadyClock::now());
  MaybeWrite();
}

void WsSession::MaybeWrite() {
  if (writing_ || finished_) return;
  if (outbox_.empty()) {
    if (resync_pending_ && !closing_) {
      resync_pending_ = false;
      ctx_.metrics->resync_hints.Inc();
      Enqueue(std::make_shared<const std::string>(ResyncPush("slow_consumer")), true);
      return;
    }
    if (closing_ && close_code_ != 0) {
      writing_ = true;
      websocket::close_reason reason(static_cast<websocket::close_code>(close_code_),
                                     close_reason_);
      close_code_ = 0;
      ws_.async_close(reason, [self = shared_from_this()](beast::error_code ec) {
        self->writing_ = false;
        self->Fail(ec, ConnectionStep::kWsClose);
      });
    }
    return;
  }
  writing_ = true;
  write_count_ = NextWriteCount(outbox_, state_.push_batch, PushBatchLimits{});
  boost::asio::const_buffer out = boost::asio::buffer(*outbox_.front().frame);
  if (write_count_ > 1) {
    JoinPushes(outbox_, write_count_, &batch_);
    out = boost::asio::buffer(batch_);
  }
  ws_.text(true);
  ws_.async_write(out,
                  [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
}

void WsSession::OnWrite(beast::error_code ec) {
  writing_ = false;
  if (ec) return Fail(ec, ConnectionStep::kWsWrite);
  ctx_.metrics->frames_out.Inc();
  const auto now = SteadyClock::now();
  for (size_t i = 0; i < write_count_; ++i) {
    const OutFrame& f = outbox_.front();
    (f.push ? ctx_.metrics->stage_push_write : ctx_.metrics->stage_ack_write)
        .Observe(Seconds(now - f.queued));
    outbox_bytes_ -= f.frame->size();
    outbox_.pop_front();
  }
  write_count_ = 0;
  if (batch_.capacity() > kKeepBatchBytes) std::string().swap(batch_);
  MaybeWrite();
  MaybeRead();
}

void WsSession::Fail(beast::error_code ec, ConnectionStep step) {
  ReportConnectionError(*ctx_.metrics, step, ec, state_.peer_ip);
  Finish();
}

void WsSession::Finish() {
  if (finished_) return;
  finished_ = true;
  auth_timer_.cancel();
  resume_timer_.cancel();
  ctx_.dispatcher->OnClosed(*this);
  outbox_.clear();
  outbox_bytes_ = 0;
  write_count_ = 0;
  beast::error_code ignored;
  auto& socket = ws_.next_layer().tcp().socket();
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

namespace {

std::vector<std::shared_ptr<WsSession>> LiveSessions(GatewayContext& ctx) {
  std::vector<std::shared_ptr<WsSession>> sessions;
  std::lock_guard<std::mutex> lock(ctx.sessions_mu);
  for (auto& [id, weak] : ctx.sessions) {
    if (auto s = weak.lock()) sessions.push_back(std::move(s));
  }
  return sessions;
}

}  // namespace

size_t CloseLiveSessions(GatewayContext& ctx, uint16_t code, const std::string& reason) {
  auto sessions = LiveSessions(ctx);
  for (auto& s : sessions) s->CloseWith(code, reason);
  return sessions.size();
}

void AbandonLiveSessions(GatewayContext& ctx) {
  // Outside the lock: a session that ends here unregisters itself in its destructor.
  for (auto& s : LiveSessions(ctx)) s->Abandon();
}

}  // namespace parley
