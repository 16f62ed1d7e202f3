#include "client/blocking_client.h"

#include <future>
#include <random>

namespace parley::client {
namespace {

constexpr size_t kMaxQueuedFrames = 1'000'000;

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

std::string NewClientMsgId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  uint64_t v = rng();
  for (auto& c : out) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

BlockingClient::BlockingClient(ConnectOptions options, Duration timeout)
    : options_(std::move(options)), timeout_(timeout), loop_(1) {}

BlockingClient::~BlockingClient() {
  Close();
  // The handlers point into this object: no more of them may run past here.
  loop_.Stop();
}

Status BlockingClient::Connect() {
  conn_ = Connection::Create(loop_, options_);
  conn_->SetPushHandler([this](std::string f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pushes_.size() < kMaxQueuedFrames) pushes_.push_back(std::move(f));
    cv_.notify_all();
  });
  conn_->SetOtherFrameHandler([this](std::string f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (others_.size() < kMaxQueuedFrames) others_.push_back(std::move(f));
    cv_.notify_all();
  });
  conn_->SetCloseHandler([this](int code) {
    std::lock_guard<std::mutex> lock(mu_);
    close_code_ = code;
    cv_.notify_all();
  });
  std::promise<Status> p;
  auto f = p.get_future();
  conn_->Connect([&p](Status st) { p.set_value(st); });
  if (f.wait_for(timeout_) != std::future_status::ready)
    return Status(Code::kUnavailable, "connect timed out");
  return f.get();
}

void BlockingClient::Close() {
  if (!conn_) return;
  conn_->Close();
  WaitClosed(std::chrono::seconds(5));
}

Result<std::string> BlockingClient::CallRaw(const std::string& op,
                                            const std::function<void(JsonWriter&)>& fields,
                                            int64_t* retry_after_ms) {
  if (!conn_) return Status(Code::kUnavailable, "not connected");
  auto p = std::make_shared<std::promise<std::pair<Result<std::string>, int64_t>>>();
  auto f = p->get_future();
  conn_->Call(op, fields, [p](Result<std::string> frame, int64_t retry) {
    p->set_value({std::move(frame), retry});
  });
  if (f.wait_for(timeout_) != std::future_status::ready) {
    return Status(Code::kUnavailable, "no reply to '" + op + "' in time");
  }
  auto [frame, retry] = f.get();
  if (retry_after_ms) *retry_after_ms = retry;
  return frame;
}

Result<UserInfo> BlockingClient::Register(const std::string& name, const std::string& password) {
  return Decoded<UserInfo>(
      CallRaw("register",
              [&](JsonWriter& w) { w.Key("name").String(name).Key("password").String(password); }),
      DecodeRegister);
}

Result<LoginReply> BlockingClient::Login(const std::string& name, const std::string& password,
                                         const std::string& device) {
  return Decoded<LoginReply>(CallRaw("login",
                                     [&](JsonWriter& w) {
                                       w.Key("name").String(name).Key("password").String(password);
                                       if (!device.empty()) w.Key("device").String(device);
                                     }),
                             DecodeLogin);
}

Result<LoginReply> BlockingClient::Auth(const std::string& token, const std::string& device) {
  return Decoded<LoginReply>(CallRaw("auth",
                                     [&](JsonWriter& w) {
                                       w.Key("token").String(token);
                                       if (!device.empty()) w.Key("device").String(device);
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

Result<SendAck> BlockingClient::Send(ConvId conv, const std::string& body, std::string cmid) {
  if (cmid.empty()) cmid = NewClientMsgId();
  return Decoded<SendAck>(
      CallRaw("send",
              [&](JsonWriter& w) {
                w.Key("conv").Uint(conv).Key("client_msg_id").String(cmid).Key("body").String(body);
              }),
      DecodeSendAck);
}

Result<SendAck> BlockingClient::SendTo(const UserArg& to, const std::string& body,
                                       std::string cmid) {
  if (cmid.empty()) cmid = NewClientMsgId();
  return Decoded<SendAck>(CallRaw("send",
                                  [&](JsonWriter& w) {
                                    w.Key("to");
                                    WriteUser(w, to);
                                    w.Key("client_msg_id").String(cmid).Key("body").String(body);
                                  }),
                          DecodeSendAck);
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

Status BlockingClient::Typing(ConvId conv) {
  return CallRaw("typing", [&](JsonWriter& w) { w.Key("conv").Uint(conv); }).status();
}

Status BlockingClient::Ping() { return CallRaw("ping", nullptr).status(); }

std::optional<std::string> BlockingClient::Pop(std::deque<std::string>& q, Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !q.empty(); })) return std::nullopt;
  std::string f = std::move(q.front());
  q.pop_front();
  return f;
}

std::optional<std::string> BlockingClient::NextOtherFrame(Duration timeout) {
  return Pop(others_, timeout);
}
std::optional<std::string> BlockingClient::NextPushFrame(Duration timeout) {
  return Pop(pushes_, timeout);
}

std::optional<Push> BlockingClient::NextPush(Duration timeout) {
  auto frame = NextPushFrame(timeout);
  if (!frame) return std::nullopt;
  auto push = DecodePush(*frame);
  if (!push.ok()) return std::nullopt;
  return std::move(push).value();
}

size_t BlockingClient::pushes_queued() {
  std::lock_guard<std::mutex> lock(mu_);
  return pushes_.size();
}

int BlockingClient::close_code() {
  std::lock_guard<std::mutex> lock(mu_);
  return close_code_;
}

bool BlockingClient::WaitClosed(Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return close_code_ != -1; });
}

}  // namespace parley::client
