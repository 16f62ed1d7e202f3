// WsSession: one WebSocket connection at /ws (Boost.Beast), after the HTTP upgrade.
//
// It reads text frames and hands them to the Dispatcher; it owns the bounded outgoing
// queue. Replies are never dropped: when the queue is over its bounds (or too many
// requests are unanswered) the session stops reading, so a client that does not read
// cannot make the server buffer without limit. Pushes are dropped instead; after the
// queue drains the client gets one `resync` push and pulls what it missed. The dispatcher
// can hold reading too (a send over its rate, or one still on its way to the sequencer).
//
// Threading: every member runs on the connection's io_context thread; the SessionLink
// entry points called from other threads (Reply, Deliver, RunOnSession, CloseWith) post
// to it.
//
// Writes: one in flight. A reply goes out alone; a session that asked for push batches
// (SessionState::push_batch) gets the pushes queued at the front of its outbox as one
// frame (gateway/push_batch.h), so a burst costs one frame, not one per event. The hub's
// frames of one commit are queued together before the next write starts.
#pragma once

#include <utility>  // before Asio with g++ 12 in C++20 mode

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>

#include "gateway/connection_slot.h"
#include "gateway/gateway_context.h"
#include "gateway/gateway_metrics.h"
#include "gateway/push_batch.h"
#include "gateway/server_stream.h"
#include "gateway/session_link.h"

namespace parley {

class WsSession : public SessionLink, public std::enable_shared_from_this<WsSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `stream` has completed its TLS handshake (if any); `slot` counts the connection.
  WsSession(ServerStream stream, GatewayContext& ctx, ConnectionSlot slot);
  ~WsSession() override;

  // Completes the WebSocket handshake for `upgrade` and starts reading.
  // `client_ip`: the client's address when a trusted proxy named it (X-Forwarded-For);
  // empty: the TCP peer's.
  void Start(Request upgrade, std::string client_ip = "");

  // SessionLink.
  SessionState& state() override { return state_; }
  bool finished() const override { return finished_; }
  void Reply(std::string frame) override;
  void RunOnSession(std::function<void()> fn) override;
  void CloseWith(uint16_t code, std::string reason) override;
  void Deliver(std::vector<Frame> frames) override;
  void Revoke(uint16_t code, std::string reason) override;

  // Ends the session from outside its thread; only once the network threads are stopped.
  void Abandon() { Finish(); }

 private:
  void OnAccept(boost::beast::error_code ec);
  void MaybeRead();
  void ApplyReadLimit();
  void OnRead(boost::beast::error_code ec, size_t bytes);
  // Queues `frame` (queued at `now`, for the write stages) without starting a write.
  void Push(Frame frame, bool push, std::chrono::steady_clock::time_point now);
  void Enqueue(Frame frame, bool push);  // Push, then MaybeWrite
  void MaybeWrite();
  void OnWrite(boost::beast::error_code ec);
  bool OutboxFull() const;
  // True while the dispatcher holds reading (SessionState flow control); arms the timer
  // that resumes it when the pause is a time.
  bool ReadHeld();
  // Beast's fail(): reports `ec` unless it is a normal end (connection_errors.h), then
  // ends the session. With no error (a completed close) it only ends it.
  void Fail(boost::beast::error_code ec, ConnectionStep step);
  void Finish();

  boost::beast::websocket::stream<ServerStream> ws_;
  GatewayContext& ctx_;
  ConnectionSlot slot_;
  SessionState state_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer auth_timer_;
  boost::asio::steady_timer resume_timer_;  // ends a rate pause (state_.read_resume_us)
  bool resume_armed_ = false;
  std::deque<OutFrame> outbox_;
  size_t outbox_bytes_ = 0;
  size_t write_count_ = 0;  // frames of the outbox's front in the write in flight
  std::string batch_;       // the batch frame being written; its capacity is reused
  int64_t in_flight_ = 0;
  uint64_t id_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool resync_pending_ = false;  // pushes were dropped; send `resync` once drained
  bool closing_ = false;         // a close frame is queued or sent
  bool finished_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
};

}  // namespace parley
