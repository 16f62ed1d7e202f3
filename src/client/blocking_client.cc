#include "client/blocking_client.h"

#include "model/names.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>

namespace parley::client {

// What the connection's handlers write into and callers read from. Shared, so a handler
// running late on the loop thread never touches a destroyed client, and a fresh Connect
// gets fresh queues (frames of an older connection cannot leak into them).
struct BlockingClient::Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> pushes;
  std::deque<std::string> raw;
  size_t max_queued = kDefaultMaxQueuedFrames;
  uint64_t dropped = 0;
  int close_code = -1;
  Status close_status;
  std::function<void()> notify;

  void Queue(std::deque<std::string>& q, std::string frame) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (q.size() >= max_queued) {
        ++dropped;  // like the server's outbox: pushes may be lost, sync is the truth
        return;
      }
      q.push_back(std::move(frame));
    }
    cv.notify_all();
    if (notify) notify();
  }

  std::optional<std::string> Pop(std::deque<std::string>& q, Duration timeout) {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return !q.empty(); })) return std::nullopt;
    std::string f = std::move(q.front());
    q.pop_front();
    return f;
  }
};

namespace {

void WriteUser(JsonWriter& w, const UserArg& u) {
  if (u.name.empty()) {
    w.Uint(u.id);
  } else {
    w.String(u.name);
  }
}

template <typename T, typename Decode>
Result<T> Decoded(Result<std::string> frame, Decode decode) {
  if (!frame.ok()) return frame.status();
  return decode(*frame);
}

}  // namespace

BlockingClient::BlockingClient(ConnectOptions options, Duration timeout)
    : options_(std::move(options)), timeout_(timeout), loop_(1) {}

BlockingClient::~BlockingClient() {
  Close();
  // Join the loop thread before the connection goes: nothing may run on it meanwhile.
  loop_.Stop();
  std::lock_guard<std::mutex> lock(mu_);
  conn_.reset();
}

std::shared_ptr<Connection> BlockingClient::connection() const {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_;
}

Status BlockingClient::Connect() {
  auto inbox = std::make_shared<Inbox>();
  inbox->max_queued = max_queued_;
  inbox->notify = notify_;
  auto conn = Connection::Create(loop_, options_);
  conn->SetPushHandler([inbox](std::string f) { inbox->Queue(inbox->pushes, std::move(f)); });
  conn->SetRawFrameHandler([inbox](std::string f) { inbox->Queue(inbox->raw, std::move(f)); });
  conn->SetCloseHandler([inbox](Status st, int code) {
    {
      std::lock_guard<std::mutex> lock(inbox->mu);
      inbox->close_code = code;
      inbox->close_status = std::move(st);
    }
    inbox->cv.notify_all();
    if (inbox->notify) inbox->notify();
  });
  std::shared_ptr<Connection> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (aborted_) return TransportError("aborted");
    old = std::exchange(conn_, conn);
    inbox_ = inbox;
    split_.clear();  // the rest of a batch of the old connection
  }
  if (old) old->Close();

  auto done = std::make_shared<std::promise<Status>>();
  auto result = done->get_future();
  conn->Connect([done](Status st) { done->set_value(std::move(st)); });
  // The connection enforces connect_timeout_ms itself; this wait is only a backstop.
  const auto limit = std::chrono::milliseconds(options_.connect_timeout_ms) + timeout_;
  if (result.wait_for(limit) != std::future_status::ready) {
    conn->Abort();
    return TransportError("connect to " + options_.url + " timed out");
  }
  return result.get();
}

void BlockingClient::Close() {
  auto conn = connection();
  if (!conn) return;
  const bool was_open = conn->open();
  conn->Close();
  if (was_open) WaitClosed(std::chrono::milliseconds(options_.connect_timeout_ms) + Duration(500));
}

void BlockingClient::Abort() {
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    conn = conn_;
  }
  if (conn) conn->Abort();
}

bool BlockingClient::open() const {
  auto conn = connection();
  return conn && conn->open();
}

BlockingClient::Duration BlockingClient::quiet_for() const {
  auto conn = connection();
  if (!conn || !conn->open()) return Duration(0);
  const int64_t now =
      std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  return Duration(std::max<int64_t>(0, now - conn->last_frame_ms()));
}

Result<std::string> BlockingClient::CallRaw(const std::string& op,
                                            const std::function<void(JsonWriter&)>& fields,
                                            int64_t* retry_after_ms) {
  return CallWithin(op, fields, retry_after_ms, timeout_);
}

Result<std::string> BlockingClient::CallWithin(const std::string& op,
                                               const std::function<void(JsonWriter&)>& fields,
                                               int64_t* retry_after_ms, Duration timeout) {
  if (retry_after_ms) *retry_after_ms = -1;
  auto conn = connection();
  if (!conn) return TransportError("not connected");
  using Reply = std::pair<Result<std::string>, int64_t>;
  auto reply = std::make_shared<std::promise<Reply>>();
  auto future = reply->get_future();
  conn->Call(op, fields, [reply](Result<std::string> frame, int64_t retry) {
    reply->set_value({std::move(frame), retry});
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return TransportError("no reply to '" + op + "' within " + std::to_string(timeout.count()) +
                          " ms");
  }
  auto [frame, retry] = future.get();
  if (retry_after_ms) *retry_after_ms = retry;
  return std::move(frame);
}

Result<UserInfo> BlockingClient::Register(const std::string& name, const std::string& password,
                                          const std::string& invite) {
  return Decoded<UserInfo>(CallRaw("register",
                                   [&](JsonWriter& w) {
                                     w.Key("name").String(name).Key("password").String(password);
                                     if (!invite.empty()) w.Key("invite").String(invite);
                                     if (options_.push_batches) w.Key("push_batch").Bool(true);
                                   }),
                           DecodeRegister);
}

Result<LoginReply> BlockingClient::Login(const std::string& name, const std::string& password,
                                         const std::string& device) {
  return Decoded<LoginReply>(CallRaw("login",
                                     [&](JsonWriter& w) {
                                       w.Key("name").String(name).Key("password").String(password);
                                       if (!device.empty()) w.Key("device").String(device);
                                       if (options_.push_batches) w.Key("push_batch").Bool(true);
                                     }),
                             DecodeLogin);
}

Result<LoginReply> BlockingClient::Auth(const std::string& token, const std::string& device) {
  return Decoded<LoginReply>(CallRaw("auth",
                                     [&](JsonWriter& w) {
                                       w.Key("token").String(token);
                                       if (!device.empty()) w.Key("device").String(device);
                                       if (options_.push_batches) w.Key("push_batch").Bool(true);
                                     }),
                             DecodeLogin);
}

Status BlockingClient::Logout() { return CallRaw("logout", nullptr).status(); }

Result<std::vector<UserInfo>> BlockingClient::Users(const std::vector<UserId>& ids,
                                                    const std::vector<std::string>& names) {
  return Decoded<std::vector<UserInfo>>(CallRaw("users",
                                                [&](JsonWriter& w) {
                                                  w.Key("ids").BeginArray();
                                                  for (UserId id : ids) w.Uint(id);
                                                  w.EndArray().Key("names").BeginArray();
                                                  for (const auto& n : names) w.String(n);
                                                  w.EndArray();
                                                }),
                                        DecodeUsers);
}

Result<SendAck> BlockingClient::SendMessage(const OutgoingMessage& m, int64_t* retry_after_ms) {
  const std::string cmid = m.client_msg_id.empty() ? NewClientMsgId() : m.client_msg_id;
  return Decoded<SendAck>(CallRaw(
                              "send",
                              [&](JsonWriter& w) {
                                if (m.conv != 0 || m.to.empty()) {
                                  w.Key("conv").Uint(m.conv);
                                } else {
                                  w.Key("to");
                                  WriteUser(w, m.to);
                                }
                                w.Key("client_msg_id").String(cmid);
                                if (m.kind != MessageKind::kText) {
                                  w.Key("kind").String(MessageKindName(m.kind));
                                }
                                w.Key("body").String(m.body);
                              },
                              retry_after_ms),
                          DecodeSendAck);
}

Result<SendAck> BlockingClient::Send(ConvId conv, const std::string& body, std::string cmid) {
  OutgoingMessage m;
  m.conv = conv;
  m.body = body;
  m.client_msg_id = std::move(cmid);
  return SendMessage(m);
}

Result<SendAck> BlockingClient::SendTo(const UserArg& to, const std::string& body,
                                       std::string cmid) {
  OutgoingMessage m;
  m.to = to;
  m.body = body;
  m.client_msg_id = std::move(cmid);
  return SendMessage(m);
}

Result<SyncReply> BlockingClient::Sync(Seq since, size_t limit, uint64_t heads_since) {
  return Decoded<SyncReply>(CallRaw("sync",
                                    [&](JsonWriter& w) {
                                      w.Key("since").Uint(since);
                                      if (limit) w.Key("limit").Uint(limit);
                                      if (heads_since) w.Key("heads_since").Uint(heads_since);
                                    }),
                            DecodeSync);
}

Result<HistoryPage> BlockingClient::History(ConvId conv, const HistoryQuery& q) {
  return Decoded<HistoryPage>(CallRaw("history",
                                      [&](JsonWriter& w) {
                                        w.Key("conv").Uint(conv);
                                        if (q.before) w.Key("before").Uint(*q.before);
                                        if (q.after) w.Key("after").Uint(*q.after);
                                        if (q.around_ts) w.Key("around_ts").Int(*q.around_ts);
                                        if (q.limit) w.Key("limit").Uint(q.limit);
                                      }),
                              DecodeHistory);
}

Result<std::vector<ConversationSummary>> BlockingClient::Convs() {
  return Decoded<std::vector<ConversationSummary>>(CallRaw("convs", nullptr), DecodeConvs);
}

Result<ConversationRecord> BlockingClient::OpenDirect(const UserArg& user) {
  return Decoded<ConversationRecord>(CallRaw("conv.open",
                                             [&](JsonWriter& w) {
                                               w.Key("user");
                                               WriteUser(w, user);
                                             }),
                                     DecodeConversationReply);
}

Result<ConversationRecord> BlockingClient::CreateGroup(const std::string& title,
                                                       const std::vector<UserArg>& members) {
  return Decoded<ConversationRecord>(
      CallRaw("conv.create",
              [&](JsonWriter& w) {
                w.Key("title").String(title).Key("members").BeginArray();
                for (const auto& m : members) WriteUser(w, m);
                w.EndArray();
              }),
      DecodeConversationReply);
}

Result<ConversationInfo> BlockingClient::ConvGet(ConvId conv) {
  return Decoded<ConversationInfo>(
      CallRaw("conv.get", [&](JsonWriter& w) { w.Key("conv").Uint(conv); }), DecodeConvGet);
}

Result<std::vector<MemberRecord>> BlockingClient::Members(ConvId conv) {
  return Decoded<std::vector<MemberRecord>>(
      CallRaw("conv.members", [&](JsonWriter& w) { w.Key("conv").Uint(conv); }), DecodeMembers);
}

Status BlockingClient::AddMembers(ConvId conv, const std::vector<UserArg>& users) {
  return CallRaw("conv.add",
                 [&](JsonWriter& w) {
                   w.Key("conv").Uint(conv).Key("users").BeginArray();
                   for (const auto& u : users) WriteUser(w, u);
                   w.EndArray();
                 })
      .status();
}

Status BlockingClient::RemoveMember(ConvId conv, const UserArg& user) {
  return CallRaw("conv.remove",
                 [&](JsonWriter& w) {
                   w.Key("conv").Uint(conv).Key("user");
                   WriteUser(w, user);
                 })
      .status();
}

Status BlockingClient::Block(const UserArg& user) {
  return CallRaw("block",
                 [&](JsonWriter& w) {
                   w.Key("user");
                   WriteUser(w, user);
                 })
      .status();
}

Status BlockingClient::Unblock(const UserArg& user) {
  return CallRaw("unblock",
                 [&](JsonWriter& w) {
                   w.Key("user");
                   WriteUser(w, user);
                 })
      .status();
}

Status BlockingClient::Leave(ConvId conv) {
  return CallRaw("conv.leave", [&](JsonWriter& w) { w.Key("conv").Uint(conv); }).status();
}

Status BlockingClient::Rename(ConvId conv, const std::string& title) {
  return CallRaw("conv.rename",
                 [&](JsonWriter& w) { w.Key("conv").Uint(conv).Key("title").String(title); })
      .status();
}

Status BlockingClient::SetRole(ConvId conv, const UserArg& user, const std::string& role) {
  return CallRaw("conv.role",
                 [&](JsonWriter& w) {
                   w.Key("conv").Uint(conv).Key("user");
                   WriteUser(w, user);
                   w.Key("role").String(role);
                 })
      .status();
}

Result<ReadReply> BlockingClient::Read(ConvId conv, Seq seq) {
  return Decoded<ReadReply>(
      CallRaw("read", [&](JsonWriter& w) { w.Key("conv").Uint(conv).Key("seq").Uint(seq); }),
      DecodeRead);
}

Status BlockingClient::Recall(ConvId conv, Seq seq) {
  return CallRaw("recall", [&](JsonWriter& w) { w.Key("conv").Uint(conv).Key("seq").Uint(seq); })
      .status();
}

Result<EditReply> BlockingClient::Edit(ConvId conv, Seq seq, const std::string& body) {
  return Decoded<EditReply>(CallRaw("edit",
                                    [&](JsonWriter& w) {
                                      w.Key("conv").Uint(conv).Key("seq").Uint(seq);
                                      w.Key("body").String(body);
                                    }),
                            DecodeEdit);
}

Result<SearchResult> BlockingClient::Search(const SearchArgs& a) {
  return Decoded<SearchResult>(CallRaw("search",
                                       [&](JsonWriter& w) {
                                         w.Key("q").String(a.q);
                                         if (a.conv) w.Key("conv").Uint(*a.conv);
                                         if (a.from) {
                                           w.Key("from");
                                           WriteUser(w, *a.from);
                                         }
                                         if (a.since_ms) w.Key("since").Int(*a.since_ms);
                                         if (a.until_ms) w.Key("until").Int(*a.until_ms);
                                         if (a.by_relevance) w.Key("order").String("relevance");
                                         if (a.limit) w.Key("limit").Uint(a.limit);
                                         if (!a.cursor.empty()) w.Key("cursor").String(a.cursor);
                                       }),
                               DecodeSearch);
}

Status BlockingClient::Typing(ConvId conv) {
  return CallRaw("typing", [&](JsonWriter& w) { w.Key("conv").Uint(conv); }).status();
}

Status BlockingClient::Ping() { return CallRaw("ping", nullptr).status(); }

Status BlockingClient::Ping(Duration timeout) {
  return CallWithin("ping", nullptr, nullptr, timeout).status();
}

void BlockingClient::SendRaw(std::string text) {
  if (auto conn = connection()) conn->SendRaw(std::move(text));
}

void BlockingClient::SendBinary(std::string bytes) {
  if (auto conn = connection()) conn->SendBinary(std::move(bytes));
}

std::optional<std::string> BlockingClient::NextRawFrame(Duration timeout) {
  std::shared_ptr<Inbox> inbox;
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox = inbox_;
  }
  if (!inbox) return std::nullopt;
  return inbox->Pop(inbox->raw, timeout);
}

std::optional<std::string> BlockingClient::NextPushFrame(Duration timeout) {
  std::shared_ptr<Inbox> inbox;
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox = inbox_;
  }
  if (!inbox) return std::nullopt;
  return inbox->Pop(inbox->pushes, timeout);
}

std::optional<Push> BlockingClient::NextPush(Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!split_.empty()) {
        Push next = std::move(split_.front());
        split_.pop_front();
        return next;
      }
    }
    auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    auto frame = NextPushFrame(std::max(left, Duration(0)));
    if (!frame) return std::nullopt;
    auto pushes = DecodePushes(*frame);
    // A frame this client cannot read is skipped: the sync timeline stays the truth.
    if (!pushes.ok() || pushes->empty()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 1; i < pushes->size(); ++i) split_.push_back(std::move((*pushes)[i]));
    return std::move(pushes->front());
  }
}

size_t BlockingClient::pushes_queued() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!inbox_) return 0;
  std::lock_guard<std::mutex> inbox_lock(inbox_->mu);
  return inbox_->pushes.size();
}

uint64_t BlockingClient::pushes_dropped() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!inbox_) return 0;
  std::lock_guard<std::mutex> inbox_lock(inbox_->mu);
  return inbox_->dropped;
}

int BlockingClient::close_code() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!inbox_) return -1;
  std::lock_guard<std::mutex> inbox_lock(inbox_->mu);
  return inbox_->close_code;
}

Status BlockingClient::close_status() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!inbox_) return Status::Ok();
  std::lock_guard<std::mutex> inbox_lock(inbox_->mu);
  return inbox_->close_status;
}

bool BlockingClient::WaitClosed(Duration timeout) {
  std::shared_ptr<Inbox> inbox;
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox = inbox_;
  }
  if (!inbox) return true;
  std::unique_lock<std::mutex> lock(inbox->mu);
  return inbox->cv.wait_for(lock, timeout, [&] { return inbox->close_code != -1; });
}

}  // namespace parley::client
