#include "common/status.h"

namespace parley {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kNotMember:
      return "not_member";
    case Code::kTooLarge:
      return "too_large";
    case Code::kInvalidUtf8:
      return "invalid_utf8";
    case Code::kRecallWindowPassed:
      return "recall_window_passed";
    case Code::kResourceExhausted:
      return "resource_exhausted";
    case Code::kFailedPrecondition:
      return "failed_precondition";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kIOError:
      return "io_error";
    case Code::kCorruption:
      return "corruption";
    case Code::kInternal:
      return "internal";
    case Code::kBadJson:
      return "bad_json";
    case Code::kBadRequest:
      return "bad_request";
    case Code::kUnknownOp:
      return "unknown_op";
    case Code::kBinaryNotSupported:
      return "binary_not_supported";
    case Code::kRateLimited:
      return "rate_limited";
    case Code::kIdempotencyConflict:
      return "idempotency_conflict";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(CodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace parley
