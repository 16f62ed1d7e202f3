#include "protocol/request.h"

#include <fmt/format.h>

#include <array>

#include "common/text.h"

namespace parley {
namespace {

constexpr std::array<std::string_view, kOpCount> kOpNames = {
    "ping",      "register",     "login",    "auth",        "logout",     "users",
    "send",      "sync",         "history",  "convs",       "conv.open",  "conv.create",
    "conv.get",  "conv.members", "conv.add", "conv.remove", "conv.leave", "conv.rename",
    "conv.role", "read",         "recall",   "edit",        "typing",     "search",
    "password.change", "devices", "device.revoke",
};

constexpr size_t kMaxIdChars = 64;
// JSON numbers are doubles for most clients: ids stay below 2^53 to round-trip exactly.
constexpr uint64_t kMaxSafeInt = (uint64_t{1} << 53) - 1;

Status BadField(std::string_view key, std::string_view want) {
  return Status(Code::kBadRequest, fmt::format("field '{}' must be {}", key, want));
}

// simdjson reports an escaped lone surrogate ("\ud800") as a string error; it is the only
// way to smuggle invalid UTF-8 past its validation of the raw bytes.
bool HasSurrogateEscape(std::string_view frame) {
  for (size_t i = 0; i + 3 < frame.size(); ++i) {
    if (frame[i] == '\\' && frame[i + 1] == 'u' && (frame[i + 2] == 'd' || frame[i + 2] == 'D')) {
      char c = frame[i + 3];
      if ((c >= '8' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) return true;
    }
  }
  return false;
}

Result<UserRef> ToUserRef(simdjson::dom::element e, std::string_view key) {
  uint64_t n;
  if (e.get_uint64().get(n) == simdjson::SUCCESS) return UserRef{n};
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return UserRef{std::string(s)};
  return BadField(key, "a user id or name");
}

}  // namespace

std::optional<Op> ParseOp(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

std::string_view OpName(Op op) { return kOpNames[static_cast<size_t>(op)]; }

Result<simdjson::dom::element> Fields::Get(std::string_view key) const {
  simdjson::dom::element e;
  if (obj_.at_key(key).get(e) != simdjson::SUCCESS) {
    return Status(Code::kBadRequest, fmt::format("missing field '{}'", key));
  }
  return e;
}

bool Fields::Has(std::string_view key) const {
  simdjson::dom::element e;
  return obj_.at_key(key).get(e) == simdjson::SUCCESS && !e.is_null();
}

Result<uint64_t> Fields::Uint(std::string_view key) const {
  PARLEY_ASSIGN_OR_RETURN(simdjson::dom::element e, Get(key));
  uint64_t v;
  if (e.get_uint64().get(v) != simdjson::SUCCESS || v > kMaxSafeInt) {
    return BadField(key, "a non-negative integer below 2^53");
  }
  return v;
}

Result<std::optional<uint64_t>> Fields::OptUint(std::string_view key) const {
  if (!Has(key)) return std::optional<uint64_t>();
  PARLEY_ASSIGN_OR_RETURN(uint64_t v, Uint(key));
  return std::optional<uint64_t>(v);
}

Result<std::optional<int64_t>> Fields::OptInt(std::string_view key) const {
  if (!Has(key)) return std::optional<int64_t>();
  PARLEY_ASSIGN_OR_RETURN(simdjson::dom::element e, Get(key));
  int64_t v;
  if (e.get_int64().get(v) != simdjson::SUCCESS) return BadField(key, "an integer");
  return std::optional<int64_t>(v);
}

Result<std::string_view> Fields::String(std::string_view key) const {
  PARLEY_ASSIGN_OR_RETURN(simdjson::dom::element e, Get(key));
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) return BadField(key, "a string");
  return s;
}

Result<std::optional<std::string_view>> Fields::OptString(std::string_view key) const {
  if (!Has(key)) return std::optional<std::string_view>();
  PARLEY_ASSIGN_OR_RETURN(std::string_view s, String(key));
  return std::optional<std::string_view>(s);
}

Result<UserRef> Fields::User(std::string_view key) const {
  PARLEY_ASSIGN_OR_RETURN(simdjson::dom::element e, Get(key));
  return ToUserRef(e, key);
}

Result<std::optional<UserRef>> Fields::OptUser(std::string_view key) const {
  if (!Has(key)) return std::optional<UserRef>();
  PARLEY_ASSIGN_OR_RETURN(UserRef u, User(key));
  return std::optional<UserRef>(std::move(u));
}

Result<std::vector<UserRef>> Fields::Users(std::string_view key, size_t max) const {
  PARLEY_ASSIGN_OR_RETURN(simdjson::dom::element e, Get(key));
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) return BadField(key, "an array");
  if (arr.size() > max) {
    return Status(Code::kBadRequest, fmt::format("field '{}' has more than {} entries", key, max));
  }
  std::vector<UserRef> out;
  out.reserve(arr.size());
  for (simdjson::dom::element item : arr) {
    PARLEY_ASSIGN_OR_RETURN(UserRef u, ToUserRef(item, key));
    out.push_back(std::move(u));
  }
  return out;
}

Status RequestParser::Parse(std::string_view frame, ParsedRequest* out) {
  out->id = std::monostate{};
  simdjson::dom::element root;
  auto err = parser_.parse(frame.data(), frame.size()).get(root);
  if (err == simdjson::UTF8_ERROR || (err == simdjson::STRING_ERROR && HasSurrogateEscape(frame))) {
    return Status(Code::kInvalidUtf8, "the frame is not valid UTF-8");
  }
  if (err != simdjson::SUCCESS) {
    return Status(Code::kBadJson, std::string("not JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return Status(Code::kBadJson, "a request must be a JSON object");
  }
  out->fields = Fields(obj);

  simdjson::dom::element id;
  if (obj.at_key("id").get(id) != simdjson::SUCCESS) {
    return Status(Code::kBadRequest, "missing field 'id'");
  }
  uint64_t n;
  std::string_view s;
  if (id.get_uint64().get(n) == simdjson::SUCCESS && n <= kMaxSafeInt) {
    out->id = n;
  } else if (id.get_string().get(s) == simdjson::SUCCESS && !s.empty() && s.size() <= kMaxIdChars) {
    out->id = std::string(s);
  } else {
    return Status(Code::kBadRequest,
                  "field 'id' must be an integer in [0, 2^53) or a string of 1-64 characters");
  }

  simdjson::dom::element op;
  std::string_view op_name;
  if (obj.at_key("op").get(op) != simdjson::SUCCESS) {
    return Status(Code::kBadRequest, "missing field 'op'");
  }
  if (op.get_string().get(op_name) != simdjson::SUCCESS) return BadField("op", "a string");
  auto parsed = ParseOp(op_name);
  if (!parsed) {
    std::string_view shown = op_name.substr(0, 64);
    return Status(Code::kUnknownOp,
                  fmt::format("unknown op '{}'", IsValidUtf8(shown) ? shown : "?"));
  }
  out->op = *parsed;
  return Status::Ok();
}

}  // namespace parley
