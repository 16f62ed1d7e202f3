// Connection: one asynchronous WebSocket to parleyd (docs/protocol.md). It numbers
// requests, matches replies to them by id (replies may come back out of order), hands
// pushes to a handler, queues writes (the WebSocket allows one write in flight), and
// answers the server's pings (Beast does that by itself). No Boost types leak into this
// header, so users compile fast; the only Beast translation unit is connection.cc.
//
// Built for load generators: the benchmark keeps ~9,000 of these per process on one or
// two loop threads, so a connection allocates nothing up front beyond its socket, and no
// buffer grows without bound.
//
// Threading: every callback runs on a thread of the EventLoop; the callbacks of one
// Connection never run concurrently (it has its own strand). Connect/Call/Send*/Close are
// thread-safe. Handlers must be set before Connect. A Connection is used once: after it
// closed, create a new one. It stays alive while it has I/O pending, even if the caller
// dropped its shared_ptr; Close() ends that.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "client/event_loop.h"
#include "client/url.h"
#include "common/status.h"
#include "protocol/json_writer.h"

namespace parley::client {

struct ConnectOptions {
  std::string url = "ws://127.0.0.1:7800";  // ws[s]://HOST[:PORT][/PATH], path default /ws
  // wss:// only: PEM file of the CAs to trust instead of the system's (e.g. a self-signed
  // server certificate). The certificate must also name the URL's host. Default: empty.
  std::string ca_file;
  // Local source address to bind, e.g. "127.0.0.5": one source address has only ~28k
  // ephemeral ports, so load generators spread their connections over several.
  std::string bind_address;
  int64_t connect_timeout_ms = 10000;  // TCP connect + WebSocket handshake (and close)
  // Offer permessage-deflate as browsers do ("permessage-deflate; client_max_window_bits"):
  // the server picks both windows. Costs zlib state on both sides. Default: false.
  bool permessage_deflate = false;
  // Ask for push batches (docs/protocol.md §1): the typed auth, login and register calls
  // of BlockingClient send "push_batch": true, and the server may then coalesce queued
  // pushes into one {"push":"events",…} frame (read them with DecodePushes). A raw
  // Connection user asks in its own auth call. Default: false (one push per frame).
  bool push_batches = false;
};

// A failed reply: its status plus the server's retry hint (rate_limited), -1 if none.
struct CallError {
  Status status;
  int64_t retry_after_ms = -1;
};

// True for failures of the transport itself (cannot connect, connection lost, no reply
// in time) as opposed to errors the server replied with. All are kUnavailable with a
// message starting "transport: ".
bool IsTransportError(const Status& status);
Status TransportError(std::string_view what);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Options = ConnectOptions;
  // The reply frame of a Call (the whole JSON object, "ok": true), or why there is none:
  // an error reply as its Status (code from the wire error, CodeFromWire) with its
  // retry_after_ms (-1 if none), or a transport error if the connection ended first.
  using ReplyHandler = std::function<void(Result<std::string> frame, int64_t retry_after_ms)>;
  using FrameHandler = std::function<void(std::string frame)>;
  // Once per connection that opened (a failed Connect reports to its own callback
  // instead): Ok if Close()/Abort() ended it, else a transport error saying why.
  // close_code: the server's close code (1000, 1001, 1008, …), 0 if the connection ended
  // without a close frame.
  using CloseHandler = std::function<void(Status status, int close_code)>;

  static std::shared_ptr<Connection> Create(EventLoop& loop, ConnectOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Frames with a "push" field.
  void SetPushHandler(FrameHandler handler);
  // Every other frame that is not the reply to a Call: replies to SendRaw frames, and
  // error replies with "id": null (the server could not read the request's id).
  void SetRawFrameHandler(FrameHandler handler);
  void SetCloseHandler(CloseHandler handler);

  // Resolves, connects (from bind_address if set), does the TLS handshake for wss:// (the
  // server's certificate verified, see ca_file) and the WebSocket handshake.
  void Connect(std::function<void(Status)> done);
  // Sends {"op":op, …fields…, "id":N} with the next id; `done` gets the reply. Safe to call
  // before Connect completed: the call then fails at once with a transport error.
  void Call(std::string_view op, const std::function<void(JsonWriter&)>& fields, ReplyHandler done);
  // Raw frames, for tests that send malformed input; replies arrive at the raw handler.
  void SendRaw(std::string text);
  void SendBinary(std::string bytes);
  // Sends a close frame (1000) and ends the connection; pending calls fail.
  void Close();
  // Drops the connection at once, without a close handshake; pending calls fail.
  void Abort();
  bool open() const;
  // When the last frame arrived (any frame, control frames included; the end of the
  // handshake before the first), in milliseconds of std::chrono::steady_clock's epoch;
  // 0 before the connection opened. For heartbeats: a long silence may be a dead peer.
  int64_t last_frame_ms() const;

  struct Impl;

 private:
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::client
