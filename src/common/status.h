// Status and Result<T>: how every fallible call in Parley reports failure.
//
// A Status is a fixed error code plus a human-readable message. The code set is closed
// and stable: the gateway maps each code to one wire error string in one place, so
// clients can rely on them. Third-party errors (RocksDB, libsodium, the OS) are converted
// to a Status where they enter a component.
//
// Thread-safety: value types; safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace parley {

enum class Code : int {
  kOk = 0,
  kInvalidArgument,     // malformed or out-of-range input
  kNotFound,            // the thing named does not exist
  kAlreadyExists,       // e.g. a user name that is taken
  kUnauthenticated,     // missing, unknown or revoked credentials
  kPermissionDenied,    // authenticated, but not allowed (role checks)
  kNotMember,           // the user is not a member of that conversation
  kTooLarge,            // a message or request over its size limit
  kInvalidUtf8,         // text that is not valid UTF-8
  kRecallWindowPassed,  // the sender's recall window has closed
  kResourceExhausted,   // a limit was reached (group size, queue depth)
  kFailedPrecondition,  // the state does not allow it (e.g. leave a direct conversation)
  kUnavailable,         // shutting down or not yet ready; retry later
  kIOError,             // the storage engine failed
  kCorruption,          // stored data could not be decoded
  kInternal,            // a bug
  // Raised at the network edge (the gateway), before a request reaches a service.
  kBadJson,             // a frame that is not a JSON object
  kBadRequest,          // id/op missing, a field missing or of the wrong type
  kUnknownOp,           // no such operation
  kBinaryNotSupported,  // a binary WebSocket frame
  kRateLimited,         // too many requests; retry later
  // A send retried with a client_msg_id already used for a different message (body, kind
  // or conversation): like payment APIs, a reused idempotency key must mean the same request.
  kIdempotencyConflict,
};
// The last code, for tables indexed by code.
inline constexpr Code kLastCode = Code::kIdempotencyConflict;

// Stable lower-case name of a code ("not_member"); used in logs and on the wire.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not_member: user 7 is not in conversation 3"
  std::string ToString() const;

  // Spells out a deliberate drop of a status.
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace parley

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define PARLEY_RETURN_IF_ERROR(expr) \
  do {                               \
    ::parley::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

#define PARLEY_CONCAT_INNER(a, b) a##b
#define PARLEY_CONCAT(a, b) PARLEY_CONCAT_INNER(a, b)

// `PARLEY_ASSIGN_OR_RETURN(auto x, Foo());` binds the value or returns the error status.
#define PARLEY_ASSIGN_OR_RETURN(lhs, expr) \
  PARLEY_ASSIGN_OR_RETURN_IMPL(PARLEY_CONCAT(_res_, __LINE__), lhs, expr)
#define PARLEY_ASSIGN_OR_RETURN_IMPL(res, lhs, expr) \
  auto res = (expr);                                 \
  if (!res.ok()) return res.status();                \
  lhs = std::move(res).value()
