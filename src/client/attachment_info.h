// AttachmentInfo: the protocol's Attachment object (docs/protocol.md §7), as the upload's
// `complete`, `GET /v1/attachments/{id}/info` and the body of a stored `file` / `image`
// message describe it; and the parsers of those JSON texts.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/records.h"

namespace parley::client {

struct AttachmentInfo {
  std::string id;  // 32 hex digits
  ConvId conv = 0;
  UserId owner = 0;
  std::string name;
  std::string mime;
  uint64_t size = 0;
  std::string sha256;  // hex
  std::string kind;    // "image" or "file"
  int64_t width = 0;   // images only
  int64_t height = 0;
  bool thumbnail = false;
  std::string preview;  // images: a tiny JPEG, base64
  int64_t created_ts = 0;
};

// The body of a stored `file` / `image` message: {"attachments":[Attachment…],"caption":"…"}.
struct AttachmentBody {
  std::vector<AttachmentInfo> attachments;
  std::string caption;
};

// An Attachment object's JSON text. kBadRequest if it is not one (id, size or sha256
// missing or of the wrong type); unknown fields are ignored.
Result<AttachmentInfo> ParseAttachmentInfo(std::string_view json);
// A stored message body. kBadRequest if malformed.
Result<AttachmentBody> ParseAttachmentBody(std::string_view json);
// The body a client sends: {"attachments":["<id>"…],"caption":"…"} (no caption when empty).
std::string AttachmentSendBody(const std::vector<std::string>& ids, const std::string& caption);

// True for 32 lower- or upper-case hex digits: an id that is safe in a URL path.
bool IsAttachmentId(std::string_view id);

}  // namespace parley::client
