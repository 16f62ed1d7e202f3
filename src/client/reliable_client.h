// ReliableClient: what an app uses to never lose or duplicate anything.
//
// - Resumes the session with the stored token (`auth`); after any disconnect it
//   reconnects with exponential backoff and jitter (Backoff).
// - Notices a dead connection that still looks open (a frozen server, a cut network: no
//   FIN, no RST) by its heartbeat: after heartbeat_idle_ms without any frame it pings, and
//   drops the connection if no answer comes within heartbeat_timeout_ms.
// - Delivers the user's sync-timeline events to the handler exactly once, in user_seq
//   order: after each (re)connect it pulls from the persisted cursor until has_more is
//   false; a push that leaves a gap, or a `resync` hint, triggers a pull; pushes at or
//   below the cursor are ignored. The cursor is advanced and persisted after the handler
//   returns, so a crash of the app re-delivers at most the event being handled (its
//   user_seq tells it apart).
// - The server does not push a send's own event back to the connection that sent it; the
//   ack carries its user_seq instead. Such own seqs are remembered and the cursor steps
//   over them when it reaches them (no gap, no extra sync), without calling the handler:
//   the Send's completion is the report of one's own message. (An own event that reaches
//   this client some other way — a sync after a reconnect, before the cursor got there —
//   is handled like any other.) The cursor only ever moves over seqs handled or known to
//   be own. Pushes are asked for in batches (ConnectOptions::push_batches).
// - Send() journals the message durably BEFORE it goes out; every journaled send is
//   (re)sent after each (re)connect with the same client_msg_id until it is acknowledged,
//   then dropped from the journal. The server's idempotency makes the retries harmless, so
//   a crash of the server, the network or the app neither loses nor duplicates a message.
//   Journaled sends go out one at a time, in order, so they are stored in send order.
//   A send the server refuses for good (not_member, invalid_argument, too_large…) is
//   dropped and reported; transient failures (unavailable, rate_limited, io_error…) are
//   retried.
//
// Threading: one internal thread owns the connection; the event handler and every
// observer in Options run on it, one at a time. Send/Stop and the accessors are
// thread-safe and may be called from the handlers (Stop from a handler does not wait).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "client/blocking_client.h"
#include "client/state_store.h"

namespace parley::client {

class ReliableClient {
 public:
  using EventHandler = std::function<void(const SyncItem&)>;
  using SendCallback = std::function<void(Result<SendAck>)>;

  struct Options {
    ConnectOptions connect;
    int64_t backoff_min_ms = 50;
    int64_t backoff_max_ms = 5000;
    size_t sync_page = 500;
    // Pushes waiting for the handler beyond this are dropped; the gap they leave is
    // pulled with sync, so a slow handler costs bounded memory, not correctness.
    size_t max_queued_pushes = 10000;
    std::chrono::milliseconds call_timeout{10000};
    // Heartbeat: a connection that has received nothing (no reply, no push, not even the
    // server's WebSocket ping) for heartbeat_idle_ms is sent a `ping`; without an answer
    // within heartbeat_timeout_ms it is dropped and replaced (after the backoff). Without
    // it a frozen server or a cut network goes unnoticed by a client that is not sending
    // until the OS gives up on the TCP connection: minutes, or never for a stopped process
    // whose kernel still acknowledges. Defaults as the TypeScript SDK: 20 s + 10 s.
    // heartbeat_idle_ms 0: no heartbeat.
    int64_t heartbeat_idle_ms = 20000;
    int64_t heartbeat_timeout_ms = 10000;
    // Optional observers (run on the client's thread):
    // read-fan-out conversations that moved (head pushes and sync's heads);
    std::function<void(const HeadInfo&)> on_head;
    // someone is typing (ephemeral);
    std::function<void(ConvId conv, UserId user)> on_typing;
    // the cursor was older than the retained timeline: refetch convs / roam history;
    std::function<void()> on_reset;
    // connected (after auth and the first catch-up) or disconnected, and why;
    std::function<void(bool connected, const Status& why)> on_connection;
    // every journaled send that finished, including sends restored from the state store
    // that no Send() call of this process waits for.
    std::function<void(const PendingSend&, const Result<SendAck>&)> on_send_done;
  };

  // `state` must hold a token (from BlockingClient::Login) and outlive the client.
  ReliableClient(Options options, StateStore* state, EventHandler on_event);
  ~ReliableClient();  // Stop()
  ReliableClient(const ReliableClient&) = delete;
  ReliableClient& operator=(const ReliableClient&) = delete;

  void Start();
  // Stops and joins the thread. Sends still journaled stay in the state store (the next
  // Start resends them); their futures/callbacks complete with kUnavailable.
  void Stop();

  // Journals and sends; completes with the first acknowledgement (duplicate:true if an
  // earlier attempt got through) or with a definitive refusal. Survives reconnects; a
  // journal write failure completes it at once with that error.
  std::future<Result<SendAck>> Send(ConvId conv, std::string body);
  std::future<Result<SendAck>> SendTo(UserArg to, std::string body);
  // The general form: `done` runs on the client's thread (or at once on a journal error).
  void Send(OutgoingMessage message, SendCallback done);

  Seq cursor() const { return cursor_.load(); }
  bool connected() const { return connected_.load(); }
  size_t pending_sends();
  uint64_t reconnects() const { return reconnects_.load(); }
  // Heartbeat pings sent, and those that went unanswered (each ended its connection).
  uint64_t heartbeats_sent() const { return heartbeats_sent_.load(); }
  uint64_t heartbeats_missed() const { return heartbeats_missed_.load(); }
  // The last connection or auth failure (Ok while connected).
  Status last_error();

 private:
  void Run();
  // One connected session; returns why it ended.
  Status Serve(BlockingClient& c);
  Status HandlePush(BlockingClient& c, const Push& push);
  Status Pull(BlockingClient& c);
  Status Deliver(const SyncItem& item);
  // The ack of one of our sends said its own event is `user_seq` (0: unknown).
  Status NoteOwn(Seq user_seq);
  // Moves the cursor over the own seqs that follow it (and forgets those behind it).
  Status SkipOwn();
  Status SendJournaled(BlockingClient& c);
  // Pings a connection that has been quiet for heartbeat_idle_ms; an error if unanswered.
  Status Heartbeat(BlockingClient& c);
  void Finish(const PendingSend& p, const Result<SendAck>& result);
  void SetConnected(bool connected, const Status& why);
  // Sleeps up to `ms` unless stopped; false if stopped.
  bool SleepUnlessStopped(int64_t ms);

  Options options_;
  StateStore* store_;
  EventHandler on_event_;

  std::mutex mu_;  // guards everything below up to the atomics
  std::condition_variable cv_;
  SessionState state_;
  std::unordered_map<std::string, SendCallback> waiters_;  // by client_msg_id
  bool new_sends_ = false;
  bool wake_ = false;  // a push arrived or the connection ended
  Status last_error_;
  BlockingClient* current_ = nullptr;  // the live connection, for Stop() to abort

  // Seqs of our own sends' events above the cursor (NoteOwn). The client's thread only.
  std::set<Seq> own_seqs_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<Seq> cursor_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> heartbeats_sent_{0};
  std::atomic<uint64_t> heartbeats_missed_{0};
  std::thread thread_;
};

}  // namespace parley::client
