// BlockingClient: one connection with blocking, typed calls — for the CLI, tests, scripts
// and the reliable client. It owns an EventLoop thread and one Connection; every call
// waits for its reply at most `timeout` and returns Result<T>. Pushes (and frames that
// answer no call, e.g. replies to SendRaw) are queued, bounded, and read with NextPush /
// NextRawFrame.
//
// Errors: a server error reply becomes its Status (code mapped from the wire,
// CodeFromWire); a lost connection, a failed connect or a missing reply is kUnavailable
// with IsTransportError() true.
//
// Thread-safety: calls may come from several threads at once (each waits for its own
// reply). Connect/Close/Abort are thread-safe. Each queue should have one consumer.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "client/random_id.h"
#include "protocol/decode.h"

namespace parley::client {

// Who a call addresses: a user by id or by name.
struct UserArg {
  UserArg() = default;
  UserArg(UserId user_id) : id(user_id) {}                        // NOLINT: implicit by design
  UserArg(std::string user_name) : name(std::move(user_name)) {}  // NOLINT
  UserArg(const char* user_name) : name(user_name) {}             // NOLINT
  bool empty() const { return id == 0 && name.empty(); }
  UserId id = 0;
  std::string name;  // wins over id when set
};

// A `search` request; unset fields are left out.
struct SearchArgs {
  std::string q;
  std::optional<ConvId> conv;
  std::optional<UserArg> from;
  std::optional<int64_t> since_ms, until_ms;
  bool by_relevance = false;
  size_t limit = 0;  // 0: the server's default (20)
  std::string cursor;
};

struct HistoryQuery {
  std::optional<Seq> before, after;  // at most one anchor
  std::optional<int64_t> around_ts;
  size_t limit = 0;  // 0: the server's default (50)
};

// A message to send: to `conv`, or (conv 0) to the direct conversation with `to`.
struct OutgoingMessage {
  ConvId conv = 0;
  UserArg to;
  MessageKind kind = MessageKind::kText;
  std::string body;
  std::string client_msg_id;  // empty: a random one
};

class BlockingClient {
 public:
  using Duration = std::chrono::milliseconds;
  static constexpr size_t kDefaultMaxQueuedFrames = 100'000;

  explicit BlockingClient(ConnectOptions options, Duration timeout = std::chrono::seconds(30));
  ~BlockingClient();  // closes the connection and stops the loop thread
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // Connects (a new connection each time; the previous one is closed). Its failure is a
  // transport error.
  Status Connect();
  // Sends a close frame and waits (bounded) for the connection to end.
  void Close();
  // Ends the connection without waiting; pending calls fail at once, and later Connect
  // calls fail. For another thread that needs a blocked caller to return now.
  void Abort();
  bool open() const;
  // How long the connection has received nothing (no reply, push, or control frame such
  // as the server's ping); zero while not connected. A heartbeat pings after a long one.
  Duration quiet_for() const;

  Duration timeout() const { return timeout_; }
  void set_timeout(Duration timeout) { timeout_ = timeout; }
  // Called on the loop thread after a push is queued and when the connection ends (for
  // callers that wait on several things at once). Set before Connect.
  void SetPushNotify(std::function<void()> notify) { notify_ = std::move(notify); }
  // Pushes beyond this many unread frames are dropped (and counted). Set before Connect.
  void set_max_queued_frames(size_t n) { max_queued_ = n; }

  // --- Typed operations (docs/protocol.md §3) ---
  // `invite` empty: left out (servers with `registration = "invite"` need one).
  Result<UserInfo> Register(const std::string& name, const std::string& password,
                            const std::string& invite = "");
  Result<LoginReply> Login(const std::string& name, const std::string& password,
                           const std::string& device = "");
  Result<LoginReply> Auth(const std::string& token, const std::string& device = "");
  Status Logout();
  Result<std::vector<UserInfo>> Users(const std::vector<UserId>& ids,
                                      const std::vector<std::string>& names = {});
  // client_msg_id empty: a random one.
  Result<SendAck> Send(ConvId conv, const std::string& body, std::string client_msg_id = "");
  // `to` (a user id or name): the direct conversation with them, opened on first use.
  Result<SendAck> SendTo(const UserArg& to, const std::string& body,
                         std::string client_msg_id = "");
  // *retry_after_ms: the hint of a rate_limited refusal (-1 if none).
  Result<SendAck> SendMessage(const OutgoingMessage& message, int64_t* retry_after_ms = nullptr);
  // limit 0 / heads_since 0: left out (server defaults).
  Result<SyncReply> Sync(Seq since, size_t limit = 0, uint64_t heads_since = 0);
  Result<HistoryPage> History(ConvId conv, const HistoryQuery& query = {});
  Result<std::vector<ConversationSummary>> Convs();
  Result<ConversationRecord> OpenDirect(const UserArg& user);
  Result<ConversationRecord> CreateGroup(const std::string& title,
                                         const std::vector<UserArg>& members);
  Result<ConversationInfo> ConvGet(ConvId conv);
  Result<std::vector<MemberRecord>> Members(ConvId conv);
  Status AddMembers(ConvId conv, const std::vector<UserArg>& users);
  Status RemoveMember(ConvId conv, const UserArg& user);
  Status Leave(ConvId conv);
  Status Rename(ConvId conv, const std::string& title);
  Status SetRole(ConvId conv, const UserArg& user, const std::string& role);
  Result<ReadReply> Read(ConvId conv, Seq seq);
  Status Recall(ConvId conv, Seq seq);
  Result<EditReply> Edit(ConvId conv, Seq seq, const std::string& body);
  Result<SearchResult> Search(const SearchArgs& args);
  Status Typing(ConvId conv);
  Status Ping();
  // A ping that waits for its answer at most `timeout` instead of timeout(): a heartbeat.
  Status Ping(Duration timeout);
  // `block` / `unblock` (docs/protocol.md, block); the list with `blocks` through CallRaw.
  Status Block(const UserArg& user);
  Status Unblock(const UserArg& user);

  // The raw reply frame of any op; *retry_after_ms gets the retry hint of an error reply
  // (-1 if none). For ops without a typed method and for tests of the protocol itself.
  Result<std::string> CallRaw(const std::string& op, const std::function<void(JsonWriter&)>& fields,
                              int64_t* retry_after_ms = nullptr);

  // --- Pushes ---
  // The next push, decoded (malformed pushes are skipped); nullopt on timeout. A batch
  // frame (ConnectOptions::push_batches) is handed out one push at a time, in order.
  std::optional<Push> NextPush(Duration timeout);
  // The next push frame as received: single or (with push_batches) a batch.
  std::optional<std::string> NextPushFrame(Duration timeout);
  size_t pushes_queued();     // frames, not counting the unread rest of a batch
  uint64_t pushes_dropped();  // by the queue bound

  // --- Raw frames, for tests that send malformed input ---
  void SendRaw(std::string text);
  void SendBinary(std::string bytes);
  // The next frame that answered no call (replies to SendRaw, "id": null errors).
  std::optional<std::string> NextRawFrame(Duration timeout);

  // --- The end of the connection ---
  // The close code once the connection ended (0: no close frame), -1 while open or
  // before Connect.
  int close_code();
  // Why it ended (Ok: we closed it).
  Status close_status();
  bool WaitClosed(Duration timeout);

  struct Inbox;  // shared with the connection's handlers; in blocking_client.cc

 private:
  std::shared_ptr<Connection> connection() const;
  Result<std::string> CallWithin(const std::string& op,
                                 const std::function<void(JsonWriter&)>& fields,
                                 int64_t* retry_after_ms, Duration timeout);

  ConnectOptions options_;
  Duration timeout_;
  std::function<void()> notify_;
  size_t max_queued_ = kDefaultMaxQueuedFrames;
  mutable std::mutex mu_;  // guards conn_, inbox_ (the pointers), aborted_ and split_
  std::shared_ptr<Connection> conn_;
  std::shared_ptr<Inbox> inbox_;
  bool aborted_ = false;
  std::deque<Push> split_;  // the pushes of a batch frame NextPush has not handed out yet
  // Last: destroyed first, so the loop thread is joined before anything it may touch.
  EventLoop loop_;
};

}  // namespace parley::client
