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

void AdminApi::Accounts(const std::string& path, const std::string& body, Respond respond) {
  if (core_ == nullptr) return respond(503, Error("accounts are not available"));
  nlohmann::json req =
      body.empty() ? nlohmann::json::object() : nlohmann::json::parse(body, nullptr, false);
  if (!req.is_object()) return respond(400, Error("the body must be a JSON object"));
  if (path == "/admin/invites") {
    const auto uses = req.value("uses", nlohmann::json(1));
    const auto ttl_s = req.value("expires_in_s", nlohmann::json(0));
    if (!uses.is_number_integer() || !ttl_s.is_number_integer()) {
      return respond(400, Error("uses and expires_in_s must be integers"));
    }
    const int64_t u = uses.get<int64_t>(), t = ttl_s.get<int64_t>();
    if (u < 1 || u > InviteService::kMaxUses || t < 0 || t > InviteService::kMaxTtlMs / 1000) {
      return respond(400, Error("uses must be 1 to 1000000, expires_in_s 0 to 31536000"));
    }
    auto invite = core_->invites().Create(static_cast<uint32_t>(u), t * 1000);
    if (!invite.ok())
      return respond(HttpStatusOf(invite.status()), Error(invite.status().ToString()));
    return respond(200, nlohmann::json{{"token", invite->token},
                                       {"uses", invite->record.uses_left},
                                       {"expires_ms", invite->record.expires_ms}}
                                .dump() +
                            "\n");
  }
  const auto name = req.value("name", nlohmann::json());
  const auto password = req.value("password", nlohmann::json());
  if (!name.is_string() || !password.is_string()) {
    return respond(400, Error("name and password (strings) are required"));
  }
  auto shared = std::make_shared<Respond>(std::move(respond));
  // Hashing the password takes tens of milliseconds: not on the network thread.
  const bool started =
      StartListing([this, shared, n = name.get<std::string>(), pw = password.get<std::string>()] {
        auto user = core_->accounts().Register(n, pw);
        if (!user.ok())
          return (*shared)(HttpStatusOf(user.status()), Error(user.status().ToString()));
        (*shared)(200, nlohmann::json{{"user", user->id}, {"name", user->name}}.dump() + "\n");
      });
  if (!started) (*shared)(429, Error("too many admin requests at once"));
}

void AdminApi::HandleUser(const std::string& method, const std::string& path, Respond respond) {
  constexpr std::string_view kPrefix = "/admin/users/", kSuffix = "/revoke";
  const bool shaped = path.size() > kPrefix.size() + kSuffix.size() &&
                      path.compare(path.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
  const std::string name =
      shaped ? path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()) : "";
  if (!revoke_user_ || name.empty() || name.find('/') != std::string::npos) {
    return respond(404, Error("no such admin endpoint"));
  }
  if (method != "POST") return respond(405, Error("POST only"));
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
  const std::string path = target.substr(0, target.find('?'));
  const std::string query = target.size() > path.size() ? target.substr(path.size() + 1) : "";
  if (path == "/admin/invites" || path == "/admin/users") {
    if (method != "POST") return respond(405, Error("POST only"));
    return Accounts(path, body, std::move(respond));
  }
  if (path.rfind("/admin/users/", 0) == 0) return HandleUser(method, path, std::move(respond));
  if (path != "/admin/backup" && path != "/admin/backups") {
    return respond(404, Error("no such admin endpoint"));
  }
  if (path == "/admin/backup" && method != "POST") return respond(405, Error("POST only"));
  if (path == "/admin/backups" && method != "GET") return respond(405, Error("GET only"));
  if (backup_ == nullptr) {
    return respond(503, Error("backups are not configured ([backup] target)"));
  }
  if (path == "/admin/backups") {
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
  const bool full = query.find("full=1") != std::string::npos;
  job_ = std::thread([this, full, respond = std::move(respond)] {
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
