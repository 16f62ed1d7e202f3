// ReliableClient: what an app uses to never lose or duplicate anything.
//
// - Connects and resumes with the stored token; after any disconnect it reconnects with
//   exponential backoff and jitter.
// - Delivers the user's sync-timeline events to the handler exactly once, in user_seq
//   order: after each (re)connect it pulls from the persisted cursor until caught up; a
//   push that leaves a gap, or a `resync` hint, triggers a pull; older pushes are ignored.
//   The cursor is persisted after the handler returns.
// - Send() journals the message durably first, then sends it; every journaled send is
//   resent after each reconnect with the same client_msg_id until it is acknowledged, so a
//   crash of the server, the network or the app neither loses nor duplicates it.
//
// Threading: one internal thread owns the connection; the event handler runs on it.
// Send/Stop/accessors are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "client/blocking_client.h"
#include "client/state_store.h"

namespace parley::client {

class ReliableClient {
 public:
  struct Options {
    ConnectOptions connect;
    int64_t backoff_min_ms = 50;
    int64_t backoff_max_ms = 5000;
    size_t sync_page = 500;
  };
  using EventHandler = std::function<void(const SyncItem&)>;

  // `state` must hold a token (see BlockingClient::Login) and outlive the client.
  ReliableClient(Options options, StateStore* state, EventHandler on_event);
  ~ReliableClient();  // Stop()

  void Start();
  void Stop();

  // Journals and sends; the future completes with the first acknowledgement (or with a
  // definitive refusal such as not_member). It survives reconnects and restarts.
  std::future<Result<SendAck>> Send(ConvId conv, std::string body);

  Seq cursor() const { return cursor_.load(); }
  bool connected() const { return connected_.load(); }
  size_t pending_sends();
  uint64_t reconnects() const { return reconnects_.load(); }

 private:
  void Run();
  // One connected session; returns when the connection is lost or Stop() is called.
  void Serve(BlockingClient& c);
  Status Pull(BlockingClient& c);
  Status Deliver(const SyncItem& item);
  Status SendJournaled(BlockingClient& c);
  Status Persist();

  Options options_;
  StateStore* store_;
  EventHandler on_event_;

  std::mutex mu_;  // guards state_ and promises_
  std::condition_variable cv_;
  SessionState state_;
  std::unordered_map<std::string, std::promise<Result<SendAck>>> promises_;
  bool new_sends_ = false;

  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<Seq> cursor_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::thread thread_;
};

}  // namespace parley::client
