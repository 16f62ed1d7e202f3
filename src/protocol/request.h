// Request parsing at the edge: one text frame → the op, the request id and typed access to
// the op's fields, with the error codes of docs/protocol.md §4 for anything malformed.
//
// Thread-safety: a RequestParser is used by one thread at a time; the ParsedRequest it
// fills (and every string_view taken from it) is valid until that parser's next Parse.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "protocol/encode.h"

namespace parley {

enum class Op {
  kPing,
  kRegister,
  kLogin,
  kAuth,
  kLogout,
  kUsers,
  kSend,
  kSync,
  kHistory,
  kConvs,
  kConvOpen,
  kConvCreate,
  kConvGet,
  kConvMembers,
  kConvAdd,
  kConvRemove,
  kConvLeave,
  kConvRename,
  kConvRole,
  kRead,
  kRecall,
  kEdit,
  kTyping,
  kSearch,
  kBlock,
  kUnblock,
  kBlocks,
  kPasswordChange,
  kDevices,
  kDeviceRevoke,
};
inline constexpr size_t kOpCount = static_cast<size_t>(Op::kDeviceRevoke) + 1;

std::optional<Op> ParseOp(std::string_view name);
std::string_view OpName(Op op);

// A user named by id or by name (ops that take either).
using UserRef = std::variant<uint64_t, std::string>;

// Typed, checked access to a request's fields. A missing required field or one of the
// wrong type is kBadRequest naming the field; an integer out of the field's range
// (negative for Uint, beyond ±(2^53 - 1) for any) is kInvalidArgument.
class Fields {
 public:
  Fields() = default;
  explicit Fields(simdjson::dom::object obj) : obj_(obj) {}

  Result<uint64_t> Uint(std::string_view key) const;
  Result<std::optional<uint64_t>> OptUint(std::string_view key) const;
  // A page size: absent is the op's default, 0 is kInvalidArgument; the op clamps values
  // above its maximum.
  Result<std::optional<uint64_t>> OptLimit(std::string_view key) const;
  Result<std::string_view> String(std::string_view key) const;
  Result<std::optional<std::string_view>> OptString(std::string_view key) const;
  Result<std::optional<int64_t>> OptInt(std::string_view key) const;
  Result<std::optional<bool>> OptBool(std::string_view key) const;
  // An integer id or a string name.
  Result<UserRef> User(std::string_view key) const;
  Result<std::optional<UserRef>> OptUser(std::string_view key) const;
  // An array of ids and/or names, at most `max` entries.
  Result<std::vector<UserRef>> Users(std::string_view key, size_t max) const;
  bool Has(std::string_view key) const;

 private:
  Result<simdjson::dom::element> Get(std::string_view key) const;
  simdjson::dom::object obj_;
};

struct ParsedRequest {
  RequestId id;  // monostate if the frame had no usable id
  Op op = Op::kPing;
  Fields fields;
};

class RequestParser {
 public:
  // Fills `out` from `frame`. On error, out->id is still set when it could be read, so
  // the error reply can echo it.
  //
  // A frame refused as a whole (kInvalidUtf8 for an escaped lone surrogate,
  // kInvalidArgument for an integer of 2^64 or more, kBadJson otherwise, including a key
  // that occurs twice in the request object) still gets its id whenever the frame is a JSON
  // object with one usable top-level "id".
  Status Parse(std::string_view frame, ParsedRequest* out);

 private:
  Status Refused(std::string_view frame, simdjson::error_code err, ParsedRequest* out);

  simdjson::dom::parser parser_;
};

}  // namespace parley
