// The client library's transport: an EventLoop (threads running Asio) and Connection, one
// asynchronous WebSocket to parleyd that matches replies to requests by id and hands
// pushes to a handler. No Boost types leak into this header, so users compile fast.
//
// Threading: every callback runs on the loop's thread(s); a Connection's own callbacks
// never run concurrently (it uses a strand). Call/SendText/Close are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/json_writer.h"

namespace parley::client {

struct Url {
  std::string host;
  uint16_t port = 7800;
  std::string path = "/ws";
};
// "ws://HOST:PORT[/path]" (the path defaults to /ws).
Result<Url> ParseUrl(std::string_view url);

class EventLoop {
 public:
  explicit EventLoop(size_t threads = 1);
  ~EventLoop();  // Stop()
  // Stops the threads and joins them; afterwards no callback runs. Idempotent.
  void Stop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct ConnectOptions {
  std::string url = "ws://127.0.0.1:7800";
  std::string bind_address;  // local source address (load generators spread over 127.0.0.x)
  int64_t connect_timeout_ms = 10000;
  bool permessage_deflate = false;
};

// A failed reply: its status plus the server's retry hint (rate_limited), -1 if none.
struct CallError {
  Status status;
  int64_t retry_after_ms = -1;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // The reply frame, or why there is none (error reply, timeout, disconnect).
  using ReplyHandler = std::function<void(Result<std::string> frame, int64_t retry_after_ms)>;
  using FrameHandler = std::function<void(std::string frame)>;
  using CloseHandler = std::function<void(int close_code)>;  // 0: no close frame

  static std::shared_ptr<Connection> Create(EventLoop& loop, ConnectOptions options);
  ~Connection();

  // Handlers must be set before Connect.
  void SetPushHandler(FrameHandler handler);
  // Frames that are neither pushes nor replies to a Call (e.g. id:null errors).
  void SetOtherFrameHandler(FrameHandler handler);
  void SetCloseHandler(CloseHandler handler);

  void Connect(std::function<void(Status)> done);
  // Sends {"id":N,"op":op, ...fields}; `done` gets the reply (kUnavailable if the
  // connection drops first). An error reply arrives as its Status.
  void Call(std::string_view op, const std::function<void(JsonWriter&)>& fields, ReplyHandler done);
  // Raw frames, for tests that send malformed input.
  void SendText(std::string frame);
  void SendBinary(std::string frame);
  void Close();
  bool open() const;

  struct Impl;

 private:
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::client
