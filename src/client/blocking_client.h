// BlockingClient: one connection with blocking, typed calls — for the CLI, tests and
// scripts. Pushes are queued (bounded) and read with NextPush.
//
// Thread-safety: calls may come from several threads; pushes are consumed by one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "protocol/decode.h"

namespace parley::client {

// Who a call addresses: a user by id or by name.
struct UserArg {
  UserArg(UserId user_id) : id(user_id) {}                        // NOLINT: implicit by design
  UserArg(std::string user_name) : name(std::move(user_name)) {}  // NOLINT
  UserArg(const char* user_name) : name(user_name) {}             // NOLINT
  UserId id = 0;
  std::string name;
};

struct HistoryQuery {
  std::optional<Seq> before, after;
  std::optional<int64_t> around_ts;
  size_t limit = 0;
};

class BlockingClient {
 public:
  using Duration = std::chrono::milliseconds;

  explicit BlockingClient(ConnectOptions options, Duration timeout = std::chrono::seconds(30));
  ~BlockingClient();

  Status Connect();
  void Close();
  bool open() const { return conn_ && conn_->open(); }

  Result<UserInfo> Register(const std::string& name, const std::string& password);
  Result<LoginReply> Login(const std::string& name, const std::string& password,
                           const std::string& device = "");
  Result<LoginReply> Auth(const std::string& token, const std::string& device = "");
  Status Logout();
  Result<std::vector<UserInfo>> Users(const std::vector<UserId>& ids,
                                      const std::vector<std::string>& names = {});
  // client_msg_id empty: a random one. `to` (user) opens the direct conversation.
  Result<SendAck> Send(ConvId conv, const std::string& body, std::string client_msg_id = "");
  Result<SendAck> SendTo(const UserArg& to, const std::string& body,
                         std::string client_msg_id = "");
  Result<SyncReply> Sync(Seq since, size_t limit = 0, uint64_t heads_since = 0);
  Result<HistoryPage> History(ConvId conv, const HistoryQuery& query = {});
  Result<std::vector<ConversationSummary>> Convs();
  Result<ConversationRecord> OpenDirect(const UserArg& user);
  Result<ConversationRecord> CreateGroup(const std::string& title,
                                         const std::vector<UserArg>& members);
  Result<std::vector<MemberRecord>> Members(ConvId conv);
  Status AddMembers(ConvId conv, const std::vector<UserArg>& users);
  Status RemoveMember(ConvId conv, const UserArg& user);
  Status Leave(ConvId conv);
  Status Rename(ConvId conv, const std::string& title);
  Status SetRole(ConvId conv, const UserArg& user, const std::string& role);
  Result<ReadReply> Read(ConvId conv, Seq seq);
  Status Recall(ConvId conv, Seq seq);
  Status Typing(ConvId conv);
  Status Ping();

  // The raw reply frame of any op (for tests of the protocol itself).
  Result<std::string> CallRaw(const std::string& op, const std::function<void(JsonWriter&)>& fields,
                              int64_t* retry_after_ms = nullptr);
  // Raw frames and whatever frames come back that are not replies to calls.
  void SendText(std::string frame) { conn_->SendText(std::move(frame)); }
  void SendBinary(std::string frame) { conn_->SendBinary(std::move(frame)); }
  std::optional<std::string> NextOtherFrame(Duration timeout);

  // The next push, decoded; nullopt on timeout.
  std::optional<Push> NextPush(Duration timeout);
  std::optional<std::string> NextPushFrame(Duration timeout);
  size_t pushes_queued();
  // The close code once the connection ended (0: no close frame), or -1 while open.
  int close_code();
  bool WaitClosed(Duration timeout);

 private:
  std::optional<std::string> Pop(std::deque<std::string>& q, Duration timeout);

  ConnectOptions options_;
  Duration timeout_;
  EventLoop loop_;
  std::shared_ptr<Connection> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pushes_;
  std::deque<std::string> others_;
  int close_code_ = -1;
};

// A random client_msg_id (16 hex characters).
std::string NewClientMsgId();

}  // namespace parley::client
