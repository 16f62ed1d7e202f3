#include "server/admin_request.h"

#include <nlohmann/json.hpp>

#include "service/invites.h"

namespace parley {
namespace {

AdminRefusal Refuse(int status, std::string message) { return {status, std::move(message)}; }

std::variant<AdminRequest, AdminRefusal> Accounts(std::string_view path, std::string_view body) {
  const nlohmann::json req =
      body.empty() ? nlohmann::json::object() : nlohmann::json::parse(body, nullptr, false);
  if (!req.is_object()) return Refuse(400, "the body must be a JSON object");
  AdminRequest out;
  if (path == "/admin/invites") {
    const auto uses = req.value("uses", nlohmann::json(1));
    const auto ttl_s = req.value("expires_in_s", nlohmann::json(0));
    if (!uses.is_number_integer() || !ttl_s.is_number_integer()) {
      return Refuse(400, "uses and expires_in_s must be integers");
    }
    // Unsigned values above INT64_MAX read as negative here, and are refused as such.
    const int64_t u = uses.get<int64_t>(), t = ttl_s.get<int64_t>();
    if (u < 1 || u > InviteService::kMaxUses || t < 0 || t > InviteService::kMaxTtlMs / 1000) {
      return Refuse(400, "uses must be 1 to 1000000, expires_in_s 0 to 31536000");
    }
    out.kind = AdminRequest::Kind::kCreateInvite;
    out.uses = static_cast<uint32_t>(u);
    out.expires_in_s = t;
    return out;
  }
  const auto name = req.value("name", nlohmann::json());
  const auto password = req.value("password", nlohmann::json());
  if (!name.is_string() || !password.is_string()) {
    return Refuse(400, "name and password (strings) are required");
  }
  out.kind = AdminRequest::Kind::kCreateUser;
  out.name = name.get<std::string>();
  out.password = password.get<std::string>();
  return out;
}

}  // namespace

std::variant<AdminRequest, AdminRefusal> ParseAdminRequest(std::string_view method,
                                                           std::string_view target,
                                                           std::string_view body) {
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string_view query =
      target.size() > path.size() ? target.substr(path.size() + 1) : std::string_view();
  if (path == "/admin/invites" || path == "/admin/users") {
    if (method != "POST") return Refuse(405, "POST only");
    return Accounts(path, body);
  }
  constexpr std::string_view kUsers = "/admin/users/", kRevoke = "/revoke";
  if (path.starts_with(kUsers)) {
    const bool shaped = path.size() > kUsers.size() + kRevoke.size() && path.ends_with(kRevoke);
    const std::string_view name =
        shaped ? path.substr(kUsers.size(), path.size() - kUsers.size() - kRevoke.size()) : "";
    if (name.empty() || name.find('/') != std::string_view::npos) {
      return Refuse(404, "no such admin endpoint");
    }
    if (method != "POST") return Refuse(405, "POST only");
    AdminRequest out;
    out.kind = AdminRequest::Kind::kRevokeUser;
    out.name = std::string(name);
    return out;
  }
  AdminRequest out;
  if (path == "/admin/backup") {
    if (method != "POST") return Refuse(405, "POST only");
    out.kind = AdminRequest::Kind::kBackup;
    out.full = query.find("full=1") != std::string_view::npos;
    return out;
  }
  if (path == "/admin/backups") {
    if (method != "GET") return Refuse(405, "GET only");
    out.kind = AdminRequest::Kind::kListBackups;
    return out;
  }
  return Refuse(404, "no such admin endpoint");
}

}  // namespace parley
