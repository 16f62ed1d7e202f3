// AdminRequest: what an HTTP admin request asks for, read from its method, target and body
// and checked before anything is touched. This is the part of the admin API that parses
// bytes from outside (fuzzed by fuzz/admin_http_fuzz.cc); AdminApi does what it says.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace parley {

struct AdminRequest {
  enum class Kind { kBackup, kListBackups, kCreateInvite, kCreateUser, kRevokeUser };
  Kind kind = Kind::kListBackups;
  bool full = false;         // kBackup: `?full=1`
  uint32_t uses = 1;         // kCreateInvite: 1 to 1,000,000
  int64_t expires_in_s = 0;  // kCreateInvite: 0 (the default lifetime) to a year
  std::string name;          // kCreateUser, kRevokeUser
  std::string password;      // kCreateUser
};

// A request refused before anything is done: its HTTP status (400, 404, 405) and why.
struct AdminRefusal {
  int status = 400;
  std::string message;
};

// The token is checked before this (AdminApi::Handle): an unauthenticated request's body
// is never parsed.
std::variant<AdminRequest, AdminRefusal> ParseAdminRequest(std::string_view method,
                                                           std::string_view target,
                                                           std::string_view body);

}  // namespace parley
