#include "client/attachment_info.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace parley::client {
namespace {

using nlohmann::json;

template <typename T>
T Field(const json& o, const char* key, T fallback) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else if constexpr (std::is_same_v<T, bool>) {
    return it->is_boolean() ? it->template get<bool>() : fallback;
  } else {
    return it->is_number_integer() ? it->template get<T>() : fallback;
  }
}

Result<AttachmentInfo> FromJson(const json& o) {
  if (!o.is_object() || !o.contains("id") || !o["id"].is_string() || !o.contains("size") ||
      !o["size"].is_number_unsigned()) {
    return Status(Code::kBadRequest, "not an Attachment object");
  }
  AttachmentInfo a;
  a.id = Field<std::string>(o, "id", "");
  a.conv = Field<ConvId>(o, "conv", 0);
  a.owner = Field<UserId>(o, "owner", 0);
  a.name = Field<std::string>(o, "name", "");
  a.mime = Field<std::string>(o, "mime", "");
  a.size = Field<uint64_t>(o, "size", 0);
  a.sha256 = Field<std::string>(o, "sha256", "");
  a.kind = Field<std::string>(o, "kind", "file");
  a.width = Field<int64_t>(o, "width", 0);
  a.height = Field<int64_t>(o, "height", 0);
  a.thumbnail = Field<bool>(o, "thumbnail", false);
  a.preview = Field<std::string>(o, "preview", "");
  a.created_ts = Field<int64_t>(o, "created_ts", 0);
  return a;
}

}  // namespace

Result<AttachmentInfo> ParseAttachmentInfo(std::string_view text) {
  return FromJson(json::parse(text, nullptr, /*allow_exceptions=*/false));
}

Result<AttachmentBody> ParseAttachmentBody(std::string_view text) {
  const json o = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto list = o.is_object() ? o.find("attachments") : o.end();
  if (!o.is_object() || list == o.end() || !list->is_array()) {
    return Status(Code::kBadRequest, "not an attachment message body");
  }
  AttachmentBody body;
  for (const auto& item : *list) {
    PARLEY_ASSIGN_OR_RETURN(AttachmentInfo a, FromJson(item));
    body.attachments.push_back(std::move(a));
  }
  body.caption = Field<std::string>(o, "caption", "");
  return body;
}

std::string AttachmentSendBody(const std::vector<std::string>& ids, const std::string& caption) {
  json o = {{"attachments", ids}};
  if (!caption.empty()) o["caption"] = caption;
  // Invalid UTF-8 in a caption (from a terminal in another encoding) becomes U+FFFD
  // rather than an exception.
  return o.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool IsAttachmentId(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace parley::client
