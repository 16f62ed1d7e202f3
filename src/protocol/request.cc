#include "protocol/request.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "common/text.h"

namespace parley {
namespace {

constexpr std::array<std::string_view, kOpCount> kOpNames = {
    "ping",       "register",      "login",     "auth",
    "logout",     "users",         "send",      "sync",
    "history",    "convs",         "conv.open", "conv.create",
    "conv.get",   "conv.members",  "conv.add",  "conv.remove",
    "conv.leave", "conv.rename",   "conv.role", "read",
    "recall",     "edit",          "typing",    "search",
    "block",      "unblock",       "blocks",    "password.change",
    "devices",    "device.revoke",
};

// Request ids are limited in bytes of UTF-8 (docs/protocol.md §1).
constexpr size_t kMaxIdBytes = 64;
// JSON numbers are doubles for most clients: every integer stays within ±(2^53 - 1) to
// round-trip exactly.
constexpr uint64_t kMaxSafeInt = (uint64_t{1} << 53) - 1;
constexpr std::string_view kUintRange = "[0, 2^53)";
constexpr std::string_view kIntRange = "(-2^53, 2^53)";

Status BadField(std::string_view key, std::string_view want) {
  return Status(Code::kBadRequest, fmt::format("field '{}' must be {}", key, want));
}

Status OutOfRange(std::string_view key, std::string_view range) {
  return Status(Code::kInvalidArgument, fmt::format("field '{}' must be in {}", key, range));
}

bool IsHighSurrogate(uint32_t u) { return u >= 0xD800 && u <= 0xDBFF; }
bool IsLowSurrogate(uint32_t u) { return u >= 0xDC00 && u <= 0xDFFF; }

// The code unit of the `\uXXXX` escape at frame[i] (frame[i] == '\\'), or -1 if there is none.
int64_t EscapedUnit(std::string_view frame, size_t i) {
  if (i + 5 >= frame.size() || frame[i + 1] != 'u') return -1;
  uint32_t u = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    char c = frame[k];
    u <<= 4;
    if (c >= '0' && c <= '9') {
      u |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      u |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      u |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return -1;
    }
  }
  return u;
}

// simdjson reports an escaped lone surrogate ("\ud83d" without its low half, as JavaScript
// leaves when it cuts a string inside an emoji) as a string error: the only way to smuggle
// invalid UTF-8 past its validation of the raw bytes. Backslashes only occur inside strings,
// so a scan escape by escape is exact.
bool HasLoneSurrogateEscape(std::string_view frame) {
  for (size_t i = 0; i + 1 < frame.size(); ++i) {
    if (frame[i] != '\\') continue;
    int64_t u = EscapedUnit(frame, i);
    if (u < 0) {
      ++i;  // an escaped character such as \\ or \": skip it
      continue;
    }
    if (IsLowSurrogate(static_cast<uint32_t>(u))) return true;
    if (IsHighSurrogate(static_cast<uint32_t>(u))) {
      int64_t next = i + 6 < frame.size() && frame[i + 6] == '\\' ? EscapedUnit(frame, i + 6) : -1;
      if (next < 0 || !IsLowSurrogate(static_cast<uint32_t>(next))) return true;
      i += 6;  // the pair's low half
    }
    i += 5;
  }
  return false;
}

// Whether the frame holds an integer literal beyond 64 bits (simdjson 3.0 refuses it with
// NUMBER_ERROR, as it does a malformed number): such a frame is well-formed JSON with a value
// out of range, not garbage. Strings are skipped, so digits inside them do not count.
bool HasHugeInteger(std::string_view frame) {
  bool in_string = false;
  for (size_t i = 0; i < frame.size(); ++i) {
    const char c = frame[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    size_t end = i + (c == '-' ? 1 : 0);
    const size_t digits_start = end;
    while (end < frame.size() && frame[end] >= '0' && frame[end] <= '9') ++end;
    const size_t digits = end - digits_start;
    const bool integer =
        end == frame.size() || (frame[end] != '.' && frame[end] != 'e' && frame[end] != 'E');
    // 2^64 has 20 digits; 20 digits of which the value is below 2^64 still fit a uint64.
    if (integer && digits > 0 && frame[digits_start] != '0') {
      if (digits > 20) return true;
      if (digits >= 19) {
        std::string_view text = frame.substr(digits_start, digits);
        if (c == '-' ? (digits > 19 || text > "9223372036854775808")
                     : (digits == 20 && text > "18446744073709551615")) {
          return true;
        }
      }
    }
    i = end == i ? i : end - 1;
  }
  return false;
}

// The request id, if `n` / `s` is usable as one (docs/protocol.md §1).
std::optional<RequestId> UsableId(uint64_t n) {
  if (n > kMaxSafeInt) return std::nullopt;
  return RequestId(n);
}
std::optional<RequestId> UsableId(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdBytes) return std::nullopt;
  return RequestId(std::string(s));
}

// The id of a frame the full parse refused (an escaped lone surrogate, an integer of 2^64
// or more in some field): the frame is walked again with simdjson on-demand, which skips
// the values it is not asked for, so a bad value elsewhere does not hide the id. The id is
// recovered only from a JSON object with exactly one top-level "id" member holding a
// usable id; *id_present tells whether such a member exists at all.
std::optional<RequestId> RecoverId(std::string_view frame, bool* id_present) {
  *id_present = false;
  simdjson::padded_string padded(frame);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
  std::optional<RequestId> id;
  for (auto field : obj) {
    std::string_view key;
    if (field.error() != simdjson::SUCCESS || field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return std::nullopt;  // not a well-formed object
    }
    if (key != "id") continue;             // its value is skipped unread
    if (*id_present) return std::nullopt;  // two ids: neither is trustworthy
    *id_present = true;
    simdjson::ondemand::value value;
    simdjson::ondemand::json_type type;
    if (field.value().get(value) != simdjson::SUCCESS ||
        value.type().get(type) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    uint64_t n;
    std::string_view s;
    if (type == simdjson::ondemand::json_type::number &&
        value.get_uint64().get(n) == simdjson::SUCCESS) {
      id = UsableId(n);
    } else if (type == simdjson::ondemand::json_type::string &&
               value.get_string().get(s) == simdjson::SUCCESS) {
      id = UsableId(s);
    }
  }
  return id;
}

// A key that occurs twice in `obj` (browsers' JSON.parse keeps the last, simdjson's at_key
// the first: refusing them keeps both readings equal), or nullopt. Keys are compared
// unescaped. Few keys: pairwise; many (a hostile frame): sorted, so the cost stays
// O(n log n).
std::optional<std::string_view> DuplicateKey(simdjson::dom::object obj) {
  constexpr size_t kPairwiseMax = 16;
  std::array<std::string_view, kPairwiseMax> few;
  size_t n = 0;
  std::vector<std::string_view> many;
  for (simdjson::dom::key_value_pair field : obj) {
    if (n < kPairwiseMax) {
      for (size_t i = 0; i < n; ++i) {
        if (few[i] == field.key) return field.key;
      }
      few[n++] = field.key;
      continue;
    }
    if (many.empty()) many.assign(few.begin(), few.end());
    many.push_back(field.key);
  }
  if (many.empty()) return std::nullopt;
  std::sort(many.begin(), many.end());
  auto dup = std::adjacent_find(many.begin(), many.end());
  if (dup != many.end()) return *dup;
  return std::nullopt;
}

// An integer field's value: kBadRequest if it is not an integer, kInvalidArgument if it is
// one outside [min, max].
Result<int64_t> CheckedInt(simdjson::dom::element e, std::string_view key, int64_t min,
                           std::string_view range) {
  int64_t v;
  uint64_t u;
  if (e.get_int64().get(v) == simdjson::SUCCESS) {
    if (v < min || v > static_cast<int64_t>(kMaxSafeInt)) return OutOfRange(key, range);
    return v;
  }
  if (e.get_uint64().get(u) == simdjson::SUCCESS) return OutOfRange(key, range);  // >= 2^63
  return BadField(key, "an integer");
}

Result<UserRef> ToUserRef(simdjson::dom::element e, std::string_view key) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return UserRef{std::string(s)};
  if (!e.is_int64() && !e.is_uint64()) return BadField(key, "a user id or name");
  PARLEY_ASSIGN_OR_RETURN(int64_t id, CheckedInt(e, key, 0, kUintRange));
  return UserRef{static_cast<uint64_t>(id)};
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
  PARLEY_ASSIGN_OR_RETURN(int64_t v, CheckedInt(e, key, 0, kUintRange));
  return static_cast<uint64_t>(v);
}

Result<std::optional<uint64_t>> Fields::OptUint(std::string_view key) const {
  if (!Has(key)) return std::optional<uint64_t>();
  PARLEY_ASSIGN_OR_RETURN(uint64_t v, Uint(key));
  return std::optional<uint64_t>(v);
}

Result<std::optional<uint64_t>> Fields::OptLimit(std::string_view key) const {
  PARLEY_ASSIGN_OR_RETURN(auto v, OptUint(key));
  if (v && *v == 0) return OutOfRange(key, "[1, 2^53) (0 asks for nothing)");
  return v;
}

Result<std::optional<int64_t>> Fields::OptInt(std::string_view key) const {
  if (!Has(key)) return std::optional<int64_t>();
  PARLEY_ASSIGN_OR_RETURN(simdjson::dom::element e, Get(key));
  PARLEY_ASSIGN_OR_RETURN(int64_t v,
                          CheckedInt(e, key, -static_cast<int64_t>(kMaxSafeInt), kIntRange));
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

Result<std::optional<bool>> Fields::OptBool(std::string_view key) const {
  if (!Has(key)) return std::optional<bool>();
  PARLEY_ASSIGN_OR_RETURN(simdjson::dom::element e, Get(key));
  bool b = false;
  if (e.get_bool().get(b) != simdjson::SUCCESS) return BadField(key, "true or false");
  return std::optional<bool>(b);
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
    return Status(Code::kInvalidArgument,
                  fmt::format("field '{}' has more than {} entries", key, max));
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
  if (err != simdjson::SUCCESS) return Refused(frame, err, out);
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return Status(Code::kBadJson, "a request must be a JSON object");
  }
  out->fields = Fields(obj);

  // The id first, so that every later refusal can echo it.
  simdjson::dom::element id;
  const bool has_id = obj.at_key("id").get(id) == simdjson::SUCCESS;
  uint64_t n;
  std::string_view s;
  std::optional<RequestId> usable;
  if (has_id && id.get_uint64().get(n) == simdjson::SUCCESS) {
    usable = UsableId(n);
  } else if (has_id && id.get_string().get(s) == simdjson::SUCCESS) {
    usable = UsableId(s);
  }
  if (auto dup = DuplicateKey(obj)) {
    if (*dup != "id" && usable) out->id = std::move(*usable);
    std::string_view shown = dup->substr(0, 64);
    return Status(Code::kBadJson, fmt::format("the key '{}' occurs more than once",
                                              IsValidUtf8(shown) ? shown : "?"));
  }
  if (!has_id) return Status(Code::kBadRequest, "missing field 'id'");
  if (!usable) {
    return Status(Code::kBadRequest,
                  "field 'id' must be an integer in [0, 2^53) or a string of 1-64 bytes");
  }
  out->id = std::move(*usable);

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

Status RequestParser::Refused(std::string_view frame, simdjson::error_code err,
                              ParsedRequest* out) {
  bool id_present = false;
  if (auto id = RecoverId(frame, &id_present)) out->id = std::move(*id);
  if (err == simdjson::UTF8_ERROR ||
      (err == simdjson::STRING_ERROR && HasLoneSurrogateEscape(frame))) {
    return Status(Code::kInvalidUtf8,
                  "the frame is not valid UTF-8 (an escaped lone surrogate, such as a string "
                  "cut inside an emoji)");
  }
  if (err == simdjson::NUMBER_ERROR && HasHugeInteger(frame)) {
    // The id member itself holds the number: the id is what is wrong.
    if (id_present && std::holds_alternative<std::monostate>(out->id)) {
      return Status(Code::kBadRequest,
                    "field 'id' must be an integer in [0, 2^53) or a string of 1-64 bytes");
    }
    return Status(Code::kInvalidArgument,
                  "an integer beyond 64 bits; integers must be within ±(2^53 - 1)");
  }
  return Status(Code::kBadJson, std::string("not JSON: ") + simdjson::error_message(err));
}

}  // namespace parley
