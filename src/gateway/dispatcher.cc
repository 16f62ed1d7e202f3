#include "gateway/dispatcher.h"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "common/clock.h"
#include "protocol/encode.h"

namespace parley {
namespace {

constexpr int64_t kErrorWindowUs = 10'000'000;

int64_t NowMicros() { return MonotonicNanos() / 1000; }

// Errors that a well-behaved client does not produce: they count towards the abuse limit.
bool IsClientFault(Code code) {
  switch (code) {
    case Code::kBadJson:
    case Code::kBadRequest:
    case Code::kUnknownOp:
    case Code::kBinaryNotSupported:
    case Code::kTooLarge:
    case Code::kInvalidUtf8:
    case Code::kInvalidArgument:
    case Code::kUnauthenticated:
    case Code::kNotMember:
      return true;
    default:
      return false;
  }
}

BackoffPolicy LoginPolicy(size_t free_failures, int64_t initial_ms, int64_t max_ms) {
  BackoffPolicy p;
  p.free_failures = free_failures;
  p.initial_us = initial_ms * 1000;
  p.max_us = std::max(max_ms, initial_ms) * 1000;
  return p;
}

}  // namespace

Dispatcher::Dispatcher(CoreApi& api, Hub& hub, const GatewayConfig& config, GatewayMetrics& metrics,
                       WorkerPool& workers, HashPool& hashers, search::SearchService* search,
                       ClusterPeers* peers)
    : api_(api),
      search_(search),
      peers_(peers),
      hub_(hub),
      config_(config),
      metrics_(metrics),
      workers_(workers),
      hashers_(hashers),
      user_send_buckets_(config.send_rate_per_user, config.send_burst_per_user),
      user_typing_buckets_(config.typing_rate_per_user, config.typing_burst_per_user),
      conv_typing_buckets_(config.typing_rate_per_conv, config.typing_burst_per_conv),
      user_membership_buckets_(config.membership_rate_per_user, config.membership_burst_per_user),
      user_lookup_buckets_(config.users_rate_per_user, config.users_burst_per_user),
      register_ip_buckets_(config.register_rate_per_ip, config.register_burst_per_ip),
      login_account_backoff_(LoginPolicy(config.login_failures_per_account,
                                         config.login_backoff_initial_ms,
                                         config.login_backoff_max_account_ms)),
      login_ip_backoff_(LoginPolicy(config.login_failures_per_ip, config.login_backoff_initial_ms,
                                    config.login_backoff_max_ip_ms)),
      login_log_(10, 10'000'000) {}

SessionState Dispatcher::NewSessionState() const {
  SessionState st(config_.send_rate_per_conn, config_.send_burst_per_conn,
                  config_.auth_rate_per_conn, config_.auth_burst_per_conn,
                  config_.typing_rate_per_conn, config_.typing_burst_per_conn,
                  config_.search_rate_per_conn, config_.search_burst_per_conn);
  st.users_bucket = TokenBucket(config_.users_rate_per_conn, config_.users_burst_per_conn);
  return st;
}

void Dispatcher::Fail(const Link& s, const RequestId& id, const Status& status, int64_t retry_ms) {
  // Every `unavailable` tells the client when to try again (docs/protocol.md): a store
  // that fails fast behind its circuit breaker must not be retried in a tight loop.
  constexpr int64_t kUnavailableRetryMs = 1000;
  if (retry_ms < 0 && status.code() == Code::kUnavailable) retry_ms = kUnavailableRetryMs;
  metrics_.Error(status.code()).Inc();
  if (status.code() == Code::kRateLimited) metrics_.rate_limited.Inc();
  s->Reply(ErrorReply(id, status, retry_ms));
}

void Dispatcher::Refuse(const Link& s, const RequestId& id, const Status& status,
                        int64_t retry_ms) {
  Fail(s, id, status, retry_ms);
  if (!IsClientFault(status.code())) return;
  SessionState& st = s->state();
  int64_t now = NowMicros();
  if (now - st.error_window_start_us > kErrorWindowUs) {
    st.error_window_start_us = now;
    st.errors_in_window = 0;
  }
  if (++st.errors_in_window > config_.max_errors) {
    metrics_.abuse_closes.Inc();
    s->CloseWith(1008, "too many failed requests");
  }
}

void Dispatcher::OnBinary(const Link& s) {
  metrics_.frames_in.Inc();
  Refuse(s, RequestId{},
         Status(Code::kBinaryNotSupported, "binary frames are not supported; send JSON text"));
}

void Dispatcher::OnTooLarge(const Link& s, size_t bytes) {
  metrics_.frames_in.Inc();
  Refuse(s, RequestId{},
         Status(Code::kTooLarge, "frame of " + std::to_string(bytes) + " bytes exceeds " +
                                     std::to_string(config_.max_frame_bytes)));
}

void Dispatcher::OnText(const Link& s, std::string_view frame) {
  metrics_.frames_in.Inc();
  thread_local RequestParser parser;
  ParsedRequest request;
  if (Status st = parser.Parse(frame, &request); !st.ok()) {
    Refuse(s, request.id, st);
    return;
  }
  if (draining_.load(std::memory_order_relaxed)) {
    Refuse(s, request.id, Status(Code::kUnavailable, "the server is shutting down"));
    return;
  }
  const Command& command = CommandFor(request.op);
  if (!s->state().identity && command.auth == AuthRule::kLoggedIn) {
    Refuse(s, request.id,
           Status(Code::kUnauthenticated,
                  s->state().revoked ? "session revoked" : "log in first (login or auth)"));
    return;
  }
  if (s->state().identity) MaybeTouch(s);
  if (Status st = (this->*command.handler)(s, request); !st.ok()) Refuse(s, request.id, st);
}

void Dispatcher::OnClosed(SessionLink& s) {
  if (!s.state().identity) return;
  hub_.Detach(s.state().identity->user_id, &s);
  if (peers_) peers_->Offline(s.state().identity->user_id, s.state().identity->device_id);
}

void Dispatcher::CloseEverywhere(UserId user, Hub::Scope scope, const std::string& device,
                                 const std::string& reason) {
  hub_.Close(user, scope, device, kCloseRevoked, reason);
  if (peers_) peers_->Revoked(user, scope, device);
}

bool Dispatcher::SharedLimited(const Link& s, const RequestId& id, ClusterPeers::Limit limit,
                               std::string_view subject, const char* message) {
  if (!peers_) return false;
  const int64_t wait_ms = peers_->Admit(limit, subject);
  if (wait_ms <= 0) return false;
  Refuse(s, id, Status(Code::kRateLimited, message), wait_ms);
  return true;
}

Status Dispatcher::Authenticated(const Link& s, const Identity& who, std::string name,
                                 const std::string& token, uint64_t epoch) {
  SessionState& st = s->state();
  // The client left while its login was checked, or the connection is being closed.
  if (s->finished() || st.revoked) return Status(Code::kUnauthenticated, "connection closing");
  // Bounded: each retry means another revocation ran meanwhile (any user's: the epoch is
  // global), and the token was still valid after it.
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (hub_.Attach(who.user_id, who.device_id, s, epoch, st.session_id)) {
      st.identity = who;
      st.user_name = std::move(name);
      st.last_touch_ms = NowMicros() / 1000;
      if (peers_) peers_->Online(who.user_id, who.device_id);
      return Status::Ok();
    }
    epoch = hub_.epoch();
    PARLEY_ASSIGN_OR_RETURN(Identity again, api_.accounts().Authenticate(token));
    if (again.user_id != who.user_id || again.device_id != who.device_id) {
      return Status(Code::kUnauthenticated, "unknown or revoked token");
    }
  }
  return Status(Code::kUnavailable, "credentials are changing; retry");
}

void Dispatcher::MaybeTouch(const Link& s) {
  SessionState& st = s->state();
  const int64_t now = NowMicros() / 1000;
  if (now - st.last_touch_ms < api_.accounts().TouchInterval()) return;
  st.last_touch_ms = now;
  TouchOnWorker(*st.identity);
}

void Dispatcher::TouchOnWorker(const Identity& who) {
  workers_.Submit([this, who] {
    Status st = api_.accounts().Touch(who);
    // Expired: its other sessions go too. (A revoked device's were closed by the revoker.)
    if (st.code() == Code::kUnauthenticated) {
      CloseEverywhere(who.user_id, Hub::Scope::kDevice, who.device_id,
                      "session revoked: token expired");
    }
  });
}

void Dispatcher::OnWorker(const Link& s, const RequestId& id, std::function<Status()> job) {
  workers_.Submit([this, s, id, job = std::move(job)] {
    Status st = job();
    if (!st.ok()) Fail(s, id, st);
  });
}

void Dispatcher::OnWorkerInOrder(const Link& s, const RequestId& id, std::function<Status()> job) {
  ++s->state().ordered_hops;
  workers_.Submit([this, s, id, job = std::move(job)] {
    Status st = job();
    if (!st.ok()) Fail(s, id, st);
    s->RunOnSession([s] { --s->state().ordered_hops; });  // and reading resumes
  });
}

void Dispatcher::RunOnLane(const Link& s, const ParsedRequest& r, std::function<Status()> job) {
  switch (CommandFor(r.op).lane) {
    case Lane::kWorker:
      return OnWorker(s, r.id, std::move(job));
    case Lane::kWorkerInOrder:
      return OnWorkerInOrder(s, r.id, std::move(job));
    case Lane::kHasher:
      OnHasher(s, r.id, std::move(job));  // a full pool has already answered
      return;
    case Lane::kInline:
    case Lane::kSequencer:
      break;
  }
  if (Status st = job(); !st.ok()) Fail(s, r.id, st);
}

bool Dispatcher::OnHasher(const Link& s, const RequestId& id, std::function<Status()> job) {
  int64_t retry_ms = 0;
  const bool queued = hashers_.TrySubmit(
      [this, s, id, job = std::move(job)] {
        Status st = job();
        if (!st.ok()) Fail(s, id, st);
      },
      &retry_ms);
  if (!queued) {
    Fail(s, id, Status(Code::kUnavailable, "password checks are busy; retry later"), retry_ms);
  }
  return queued;
}

void Dispatcher::LoginFailed(const std::string& account, const std::string& ip, const Status& why) {
  const int64_t now = NowMicros();
  const int64_t account_lock = login_account_backoff_.Fail(account, now);
  const int64_t ip_lock = login_ip_backoff_.Fail(ip, now);
  metrics_.login_failures.Inc();
  uint64_t suppressed = 0;
  if (login_log_.Allow(now, &suppressed)) {
    spdlog::warn(
        "login failed: user={} ip={} reason=\"{}\" locked_ms(account={}, ip={}){}", account, ip,
        why.message(), account_lock / 1000, ip_lock / 1000,
        suppressed ? " (" + std::to_string(suppressed) + " more failures not logged)" : "");
  }
}

Result<UserId> Dispatcher::ResolveUser(const UserRef& ref) {
  if (const auto* id = std::get_if<uint64_t>(&ref)) {
    PARLEY_ASSIGN_OR_RETURN(UserRecord user, api_.accounts().GetUser(*id));
    return user.id;
  }
  PARLEY_ASSIGN_OR_RETURN(UserRecord user, api_.accounts().FindUser(std::get<std::string>(ref)));
  return user.id;
}

Result<std::vector<UserId>> Dispatcher::ResolveUsers(const std::vector<UserRef>& refs) {
  std::vector<UserId> out;
  out.reserve(refs.size());
  for (const auto& ref : refs) {
    PARLEY_ASSIGN_OR_RETURN(UserId id, ResolveUser(ref));
    out.push_back(id);
  }
  return out;
}

bool Dispatcher::Limited(const Link& s, const RequestId& id, TokenBucket& bucket,
                         KeyedTokenBuckets* per_user, std::string_view what, double cost) {
  int64_t now = NowMicros();
  int64_t wait = bucket.Take(now, cost);
  // A connection token spent before the per-user bucket refuses stays spent: the client is
  // over a limit either way.
  if (wait == 0 && per_user) wait = per_user->Take(s->state().identity->user_id, now, cost);
  if (wait == 0) return false;
  Refuse(s, id, Status(Code::kRateLimited, std::string(what) + " too fast"), (wait + 999) / 1000);
  return true;
}

bool Dispatcher::KeyLimited(const Link& s, const RequestId& id, KeyedTokenBuckets& buckets,
                            uint64_t key, double cost, std::string_view what) {
  int64_t wait = buckets.Take(key, NowMicros(), cost);
  if (wait == 0) return false;
  Refuse(s, id, Status(Code::kRateLimited, std::string(what) + " too fast"), (wait + 999) / 1000);
  return true;
}

bool Dispatcher::Paced(const Link& s, const RequestId& id, std::string_view what) {
  SessionState& st = s->state();
  int64_t now = NowMicros();
  // Sends read before this were pipelined behind a refused one: refuse them too, or they
  // would commit before the client's resend of the refused one.
  int64_t refused_wait = st.send_refused_until_us - now;
  TokenBucket::Borrowed user{};
  if (refused_wait <= 0) {
    user = user_send_buckets_.Borrow(st.identity->user_id, now, 1, config_.send_max_wait_ms * 1000);
    if (!user.admitted) {
      refused_wait = user.wait_us;
      st.send_refused_until_us = now + refused_wait;
    }
  }
  if (refused_wait > 0) {
    Refuse(s, id, Status(Code::kRateLimited, std::string(what) + " too fast"),
           (refused_wait + 999) / 1000);
    return true;
  }
  // The connection's own bucket never refuses: a connection pauses after each borrowed
  // token, so its debt stays below one request.
  TokenBucket::Borrowed conn = st.send_bucket.Borrow(now, 1, TokenBucket::kMaxWaitUs);
  int64_t pause = std::max(conn.wait_us, user.wait_us);
  if (pause > 0) {
    st.read_resume_us = std::max(st.read_resume_us, now + pause);
    metrics_.reads_paused.Inc();
  }
  return false;
}

}  // namespace parley
