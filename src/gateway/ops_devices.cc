// Credential ops of a logged-in user: password.change, devices, device.revoke.
// Each revocation commits first, then closes the revoked devices' live sessions through
// the hub (close code 4001, docs/protocol.md "Close codes").
#include "common/text.h"
#include "gateway/dispatcher.h"
#include "protocol/encode.h"

namespace parley {
namespace {

constexpr size_t kMaxPasswordField = 4096;

}  // namespace

Status Dispatcher::PasswordChange(const Link& s, const ParsedRequest& r) {
  SessionState& st = s->state();
  PARLEY_ASSIGN_OR_RETURN(std::string_view old_password, r.fields.String("old_password"));
  PARLEY_ASSIGN_OR_RETURN(std::string_view new_password, r.fields.String("new_password"));
  if (old_password.size() > kMaxPasswordField || new_password.size() > kMaxPasswordField) {
    return Status(Code::kInvalidArgument, "password too long");
  }
  // The auth bucket: a stolen session must not become a fast oracle for the password.
  if (Limited(s, r.id, st.auth_bucket, nullptr, "password attempts")) return Status::Ok();
  // Two Argon2id computations: on the bounded hashing pool (full: `unavailable` at once),
  // never on a network thread. In order: reading pauses until it is done, so a request
  // pipelined behind it runs under the new password.
  ++st.ordered_hops;
  const bool queued =
      OnHasher(s, r.id,
               [this, s, who = *st.identity, id = r.id, old_pw = std::string(old_password),
                new_pw = std::string(new_password)] {
                 Status result = [&]() -> Status {
                   PARLEY_ASSIGN_OR_RETURN(size_t revoked,
                                           api_.accounts().ChangePassword(who, old_pw, new_pw));
                   CloseEverywhere(who.user_id, Hub::Scope::kOtherDevices, who.device_id,
                                   "session revoked: password changed");
                   JsonWriter w = BeginReply(id);
                   w.Key("revoked").Uint(revoked).EndObject();
                   s->Reply(w.Take());
                   return Status::Ok();
                 }();
                 s->RunOnSession([s] { --s->state().ordered_hops; });  // and reading resumes
                 return result;
               });
  if (!queued) --st.ordered_hops;
  return Status::Ok();
}

Status Dispatcher::Devices(const Link& s, const ParsedRequest& r) {
  const Identity& who = *s->state().identity;
  PARLEY_ASSIGN_OR_RETURN(auto devices, api_.accounts().Devices(who.user_id));
  JsonWriter w = BeginReply(r.id);
  w.Key("devices").BeginArray();
  for (const auto& d : devices) {
    w.BeginObject().Key("device").String(d.device_id);
    w.Key("created_ms").Int(d.created_ms).Key("last_seen_ms").Int(d.last_seen_ms);
    w.Key("current").Bool(d.device_id == who.device_id).EndObject();
  }
  w.EndArray().EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

Status Dispatcher::DeviceRevoke(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(std::string_view device, r.fields.String("device"));
  if (!IsValidClientId(device, api_.config().max_client_id_chars)) {
    return Status(Code::kInvalidArgument, "device must be 1-64 printable ASCII characters");
  }
  RunOnLane(s, r, [this, s, who = *s->state().identity, id = r.id, dev = std::string(device)] {
    PARLEY_RETURN_IF_ERROR(api_.accounts().RevokeDevice(who.user_id, dev));
    // The reply is queued before the close: revoking one's own device answers, then
    // ends this connection too.
    s->Reply(EmptyReply(id));
    CloseEverywhere(who.user_id, Hub::Scope::kDevice, dev, "session revoked: device revoked");
    return Status::Ok();
  });
  return Status::Ok();
}

}  // namespace parley
