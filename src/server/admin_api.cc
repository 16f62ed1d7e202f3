#include "server/admin_api.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

namespace parley {
namespace {

std::string Error(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace) +
         "\n";
}

nlohmann::json Summary(const backup::Manifest& m) {
  return {{"id", m.id},           {"created_ms", m.created_ms}, {"kind", m.kind},
          {"parent", m.parent},   {"encrypted", m.encrypted},   {"messages", m.messages},
          {"bytes", m.bytes},     {"new_bytes", m.new_bytes},   {"stored_bytes", m.stored_bytes},
          {"seconds", m.seconds}, {"files", m.files.size()}};
}

// A listing entry: a valid backup's summary with "valid": true, or the object's name with
// "valid": false and why ("error": "corruption: manifest …").
nlohmann::json ListedJson(const backup::ListedBackup& entry) {
  if (!entry.status.ok()) {
    // The name comes from the target: dump() escapes it, and it is cut to a sane length.
    return {{"id", entry.id.substr(0, 200)}, {"valid", false}, {"error", entry.status.ToString()}};
  }
  nlohmann::json j = Summary(entry.manifest);
  j["valid"] = true;
  return j;
}

int HttpStatusOf(const Status& st) {
  switch (st.code()) {
    case Code::kFailedPrecondition:
      return 409;
    case Code::kNotFound:
      return 404;
    case Code::kInvalidArgument:
      return 400;
    case Code::kAlreadyExists:
      return 409;
    default:
      return 500;
  }
}

}  // namespace

std::string ManifestSummaryJson(const backup::Manifest& m) { return Summary(m).dump(); }

void AdminApi::Wait() {
  std::lock_guard<std::mutex> lock(mu_);
  if (job_.joinable()) job_.join();
  for (auto& t : listings_) t.join();
  listings_.clear();
}

bool AdminApi::StartListing(std::function<void()> work) {
  std::lock_guard<std::mutex> lock(mu_);
  if (listings_running_.load() >= kMaxListings) return false;
  // Reap the finished ones so the vector stays short.
  if (listings_running_.load() == 0) {
    for (auto& t : listings_) t.join();
    listings_.clear();
  }
  ++listings_running_;
  listings_.emplace_back([this, work = std::move(work)] {
    work();
    --listings_running_;
  });
  return true;
}

void AdminApi::Accounts(const AdminRequest& req, Respond respond) {
  if (core_ == nullptr) return respond(503, Error("accounts are not available"));
  if (req.kind == AdminRequest::Kind::kCreateInvite) {
    auto invite = core_->invites().Create(req.uses, req.expires_in_s * 1000);
    if (!invite.ok())
      return respond(HttpStatusOf(invite.status()), Error(invite.status().ToString()));
    return respond(200, nlohmann::json{{"token", invite->token},
                                       {"uses", invite->record.uses_left},
                                       {"expires_ms", invite->record.expires_ms}}
                                .dump() +
                            "\n");
  }
  auto shared = std::make_shared<Respond>(std::move(respond));
  // Hashing the password takes tens of milliseconds: not on the network thread.
  const bool started = StartListing([this, shared, n = req.name, pw = req.password] {
    auto user = core_->accounts().Register(n, pw);
    if (!user.ok()) return (*shared)(HttpStatusOf(user.status()), Error(user.status().ToString()));
    (*shared)(200, nlohmann::json{{"user", user->id}, {"name", user->name}}.dump() + "\n");
  });
  if (!started) (*shared)(429, Error("too many admin requests at once"));
}

void AdminApi::Revoke(const std::string& name, Respond respond) {
  if (!revoke_user_) return respond(404, Error("no such admin endpoint"));
  // A commit: off the network thread, like a listing (and bounded the same way).
  auto shared = std::make_shared<Respond>(std::move(respond));
  const bool started = StartListing([this, shared, name] {
    auto revoked = revoke_user_(name);
    if (!revoked.ok()) {
      return (*shared)(HttpStatusOf(revoked.status()), Error(revoked.status().ToString()));
    }
    (*shared)(200, nlohmann::json{{"user", name}, {"revoked", *revoked}}.dump() + "\n");
  });
  if (!started) (*shared)(429, Error("too many admin requests at once"));
}

void AdminApi::Handle(const std::string& method, const std::string& target,
                      const std::string& authorization, const std::string& body, Respond respond) {
  const std::string expected = "Bearer " + token_;
  // Constant-time comparison: the token must not leak through timing.
  if (token_.empty() || authorization.size() != expected.size() ||
      sodium_memcmp(authorization.data(), expected.data(), expected.size()) != 0) {
    return respond(401, Error("admin token missing or wrong"));
  }
  auto parsed = ParseAdminRequest(method, target, body);
  if (auto* refused = std::get_if<AdminRefusal>(&parsed)) {
    return respond(refused->status, Error(refused->message));
  }
  const AdminRequest& req = std::get<AdminRequest>(parsed);
  switch (req.kind) {
    case AdminRequest::Kind::kCreateInvite:
    case AdminRequest::Kind::kCreateUser:
      return Accounts(req, std::move(respond));
    case AdminRequest::Kind::kRevokeUser:
      return Revoke(req.name, std::move(respond));
    case AdminRequest::Kind::kBackup:
    case AdminRequest::Kind::kListBackups:
      break;
  }
  if (backup_ == nullptr) {
    return respond(503, Error("backups are not configured ([backup] target)"));
  }
  if (req.kind == AdminRequest::Kind::kListBackups) {
    auto shared = std::make_shared<Respond>(std::move(respond));
    const bool started = StartListing([this, shared] {
      // A bad object on the target is an entry of the listing, never a crash: ListAll
      // returns it with its reason, and anything thrown (it should not) is a 500.
      try {
        auto all = backup_->ListAll();
        if (!all.ok()) {
          return (*shared)(HttpStatusOf(all.status()), Error(all.status().ToString()));
        }
        nlohmann::json list = nlohmann::json::array();
        for (const auto& entry : *all) list.push_back(ListedJson(entry));
        // Names and reasons come from the target and may hold invalid UTF-8: replaced.
        (*shared)(200, list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      } catch (const std::exception& e) {
        (*shared)(500, Error(std::string("listing failed: ") + e.what()));
      }
    });
    if (!started) (*shared)(429, Error("too many listings at once"));
    return;
  }
  bool expected_idle = false;
  if (!busy_.compare_exchange_strong(expected_idle, true)) {
    return respond(409, Error("a backup is already running"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (job_.joinable()) job_.join();  // the previous job has finished (busy_ was false)
  job_ = std::thread([this, full = req.full, respond = std::move(respond)] {
    Result<backup::Manifest> m = Status(Code::kInternal, "backup did not run");
    try {
      m = backup_->Run(full);
    } catch (const std::exception& e) {
      m = Status(Code::kInternal, std::string("backup failed: ") + e.what());
    }
    // Free before answering: a client may ask for the next backup as soon as it reads this.
    busy_ = false;
    if (m.ok()) {
      respond(200, ManifestSummaryJson(*m) + "\n");
    } else {
      respond(HttpStatusOf(m.status()), Error(m.status().ToString()));
    }
  });
}

}  // namespace parley
