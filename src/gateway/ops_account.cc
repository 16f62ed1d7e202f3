// Account ops: ping, register, login, auth (token resume), logout, users.
#include <algorithm>
#include <functional>

#include "common/clock.h"
#include "common/text.h"
#include "gateway/dispatcher.h"
#include "protocol/encode.h"

namespace parley {
namespace {

constexpr size_t kMaxUsersPerLookup = 500;
constexpr size_t kMaxPasswordField = 4096;
constexpr size_t kMaxInviteField = 256;

// The key of per-IP buckets: a hash of the address (a collision only merges two addresses'
// buckets).
uint64_t IpKey(const std::string& ip) { return std::hash<std::string>{}(ip); }

int64_t NowMicros() { return MonotonicNanos() / 1000; }

Status CheckNotAuthenticated(const SessionState& st) {
  if (st.revoked) return Status(Code::kUnauthenticated, "session revoked");
  if (st.identity || st.auth_pending) {
    return Status(Code::kFailedPrecondition, "this connection is already authenticated");
  }
  return Status::Ok();
}

// `push_batch`: the client asks for pushes in batches (docs/protocol.md §1); absent leaves
// the connection's choice as it is. A wrong type is refused before anything else happens.
Status ReadPushBatch(const ParsedRequest& r, SessionState& st) {
  PARLEY_ASSIGN_OR_RETURN(auto batch, r.fields.OptBool("push_batch"));
  if (batch) st.push_batch = *batch;
  return Status::Ok();
}

}  // namespace

Status Dispatcher::Ping(const Link& s, const ParsedRequest& r) {
  JsonWriter w = BeginReply(r.id);
  w.Key("ts").Int(NowMillis()).EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

Status Dispatcher::Register(const Link& s, const ParsedRequest& r) {
  SessionState& st = s->state();
  PARLEY_ASSIGN_OR_RETURN(std::string_view name, r.fields.String("name"));
  PARLEY_ASSIGN_OR_RETURN(std::string_view password, r.fields.String("password"));
  PARLEY_ASSIGN_OR_RETURN(auto invite, r.fields.OptString("invite"));
  PARLEY_RETURN_IF_ERROR(ReadPushBatch(r, st));
  if (password.size() > kMaxPasswordField)
    return Status(Code::kInvalidArgument, "password too long");
  if (invite && invite->size() > kMaxInviteField) {
    return Status(Code::kInvalidArgument, "invite too long");
  }
  // Refusals the policy makes without a password hash come first: they cost nothing.
  const RegistrationPolicy policy = api_.config().registration;
  if (policy == RegistrationPolicy::kClosed) {
    return PermissionDenied("registration is closed on this server; ask an administrator");
  }
  if (policy == RegistrationPolicy::kInvite && (!invite || invite->empty())) {
    return PermissionDenied("registration needs an invite on this server");
  }
  if (Limited(s, r.id, st.auth_bucket, nullptr, "account requests")) return Status::Ok();
  if (int64_t wait = register_ip_buckets_.Take(IpKey(st.peer_ip), NowMicros()); wait > 0) {
    Refuse(s, r.id, Status(Code::kRateLimited, "too many registrations from this address"),
           (wait + 999) / 1000);
    return Status::Ok();
  }
  if (SharedLimited(s, r.id, ClusterPeers::Limit::kRegister, st.peer_ip,
                    "too many registrations from this address")) {
    return Status::Ok();
  }
  RunOnLane(s, r,
            [this, s, id = r.id, name = std::string(name), pw = std::string(password),
             inv = std::string(invite.value_or(""))] {
              PARLEY_ASSIGN_OR_RETURN(UserRecord user, api_.Register(name, pw, inv));
              JsonWriter w = BeginReply(id);
              w.Key("user").Uint(user.id).Key("name").String(user.name).EndObject();
              s->Reply(w.Take());
              return Status::Ok();
            });
  return Status::Ok();
}

Status Dispatcher::Login(const Link& s, const ParsedRequest& r) {
  SessionState& st = s->state();
  PARLEY_RETURN_IF_ERROR(CheckNotAuthenticated(st));
  PARLEY_ASSIGN_OR_RETURN(std::string_view name, r.fields.String("name"));
  PARLEY_ASSIGN_OR_RETURN(std::string_view password, r.fields.String("password"));
  PARLEY_ASSIGN_OR_RETURN(auto device, r.fields.OptString("device"));
  PARLEY_RETURN_IF_ERROR(ReadPushBatch(r, st));
  if (password.size() > kMaxPasswordField)
    return Status(Code::kInvalidArgument, "password too long");
  if (device && !IsValidClientId(*device, api_.config().max_client_id_chars)) {
    return Status(Code::kInvalidArgument, "device must be 1-64 printable ASCII characters");
  }
  if (Limited(s, r.id, st.auth_bucket, nullptr, "login attempts")) return Status::Ok();
  // The lockout key: the normalised name. Names that can never exist share one key, which
  // also keeps what an attacker sends out of the log.
  std::string account = NormalizeUserName(name);
  if (account.empty()) account = "(invalid name)";
  const int64_t now = NowMicros();
  const int64_t wait = std::max(login_account_backoff_.Check(account, now),
                                login_ip_backoff_.Check(st.peer_ip, now));
  if (wait > 0) {
    metrics_.login_lockouts.Inc();
    Refuse(s, r.id, Status(Code::kRateLimited, "too many failed logins; retry later"),
           (wait + 999) / 1000);
    return Status::Ok();
  }
  if (SharedLimited(s, r.id, ClusterPeers::Limit::kLogin, account,
                    "too many logins for this account; retry later")) {
    return Status::Ok();
  }
  st.auth_pending = true;
  // On the session's thread: the login is over (failed, or answered `unavailable`).
  auto failed = [this, s, id = r.id, account, ip = st.peer_ip](Status why) {
    s->RunOnSession([this, s, id, account, ip, why] {
      s->state().auth_pending = false;
      if (why.code() == Code::kUnauthenticated) LoginFailed(account, ip, why);
      Refuse(s, id, why);
    });
  };
  const bool queued = OnHasher(
      s, r.id,
      [this, s, id = r.id, name = std::string(name), pw = std::string(password), account,
       dev = std::string(device.value_or("")), failed] {
        auto user = api_.accounts().CheckPassword(name, pw);
        if (!user.ok()) {
          failed(user.status());
          return Status::Ok();
        }
        login_account_backoff_.Reset(account);
        // The token commit waits for an fsync: on a worker, so hashing threads only hash.
        workers_.Submit([this, s, id, user = std::move(*user), dev, failed] {
          // Read before the token exists: a revocation racing with this login is seen.
          const uint64_t epoch = hub_.epoch();
          auto login = api_.accounts().OpenDevice(user, dev);
          if (!login.ok()) return failed(login.status());
          // A new login on a device id replaces its token: the old token's sessions end.
          CloseEverywhere(login->user_id, Hub::Scope::kDevice, login->device_id,
                          "session revoked: device replaced");
          s->RunOnSession([this, s, id, login = std::move(login), user_name = user.name, epoch] {
            s->state().auth_pending = false;
            Identity who{login->user_id, login->device_id};
            if (Status joined = Authenticated(s, who, user_name, login->token, epoch);
                !joined.ok()) {
              Refuse(s, id, joined);
              return;
            }
            JsonWriter w = BeginReply(id);
            w.Key("user").Uint(who.user_id).Key("name").String(user_name);
            w.Key("device").String(who.device_id).Key("token").String(login->token).EndObject();
            s->Reply(w.Take());
          });
        });
        return Status::Ok();
      });
  if (!queued) st.auth_pending = false;
  return Status::Ok();
}

Status Dispatcher::Auth(const Link& s, const ParsedRequest& r) {
  SessionState& st = s->state();
  PARLEY_RETURN_IF_ERROR(CheckNotAuthenticated(st));
  PARLEY_ASSIGN_OR_RETURN(std::string_view token, r.fields.String("token"));
  PARLEY_ASSIGN_OR_RETURN(auto device, r.fields.OptString("device"));
  PARLEY_RETURN_IF_ERROR(ReadPushBatch(r, st));
  if (Limited(s, r.id, st.auth_bucket, nullptr, "auth attempts")) return Status::Ok();
  // Read before the token check: a revocation racing with it is seen (Authenticated).
  const uint64_t epoch = hub_.epoch();
  PARLEY_ASSIGN_OR_RETURN(TokenCheck check, api_.accounts().CheckToken(token));
  const Identity& who = check.who;
  if (check.expired) {
    TouchOnWorker(who);  // deletes it (and closes any session still using it)
    return Status(Code::kUnauthenticated, "token expired; log in again");
  }
  if (device && *device != who.device_id) {
    return Status(Code::kUnauthenticated, "the token belongs to another device");
  }
  PARLEY_ASSIGN_OR_RETURN(UserRecord user, api_.accounts().GetUser(who.user_id));
  PARLEY_RETURN_IF_ERROR(Authenticated(s, who, user.name, std::string(token), epoch));
  if (check.touch_due) TouchOnWorker(who);
  JsonWriter w = BeginReply(r.id);
  w.Key("user").Uint(who.user_id).Key("name").String(user.name);
  w.Key("device").String(who.device_id).EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

Status Dispatcher::Logout(const Link& s, const ParsedRequest& r) {
  Identity who = *s->state().identity;
  // Leave the hub now: no push may follow the logout reply.
  OnClosed(*s);
  s->state().identity.reset();
  RunOnLane(s, r, [this, s, who, id = r.id] {
    PARLEY_RETURN_IF_ERROR(api_.accounts().Logout(who));
    // Other connections that authenticated with this device's token end too.
    CloseEverywhere(who.user_id, Hub::Scope::kDevice, who.device_id, "session revoked: logout");
    s->Reply(EmptyReply(id));
    return Status::Ok();
  });
  return Status::Ok();
}

Status Dispatcher::Users(const Link& s, const ParsedRequest& r) {
  std::vector<UserRef> refs;
  if (r.fields.Has("ids")) {
    PARLEY_ASSIGN_OR_RETURN(refs, r.fields.Users("ids", kMaxUsersPerLookup));
  }
  if (r.fields.Has("names")) {
    PARLEY_ASSIGN_OR_RETURN(auto names, r.fields.Users("names", kMaxUsersPerLookup));
    refs.insert(refs.end(), names.begin(), names.end());
  }
  if (refs.size() > kMaxUsersPerLookup) {
    return Status(Code::kInvalidArgument, "at most 500 users per lookup");
  }
  // Counted per name or id looked up: the op is how a client could walk the directory.
  if (Limited(s, r.id, s->state().users_bucket, &user_lookup_buckets_, "user lookups",
              static_cast<double>(std::max<size_t>(refs.size(), 1)))) {
    return Status::Ok();
  }
  JsonWriter w = BeginReply(r.id);
  w.Key("users").BeginArray();
  for (const auto& ref : refs) {
    Result<UserRecord> user = std::holds_alternative<uint64_t>(ref)
                                  ? api_.accounts().GetUser(std::get<uint64_t>(ref))
                                  : api_.accounts().FindUser(std::get<std::string>(ref));
    if (!user.ok()) continue;  // unknown ones are left out
    w.BeginObject().Key("user").Uint(user->id).Key("name").String(user->name).EndObject();
  }
  w.EndArray().EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

}  // namespace parley
