// The names of record enums as they appear on the wire (docs/protocol.md) and in exports
// (docs/export.md): one spelling for both, in both directions. A Parse* function takes
// exactly the spelling its *Name function writes and nothing else.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "model/records.h"

namespace parley {

inline std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
    case Role::kMember:
      break;
  }
  return "member";
}

inline std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kCustom:
      return "custom";
    case MessageKind::kFile:
      return "file";
    case MessageKind::kImage:
      return "image";
    case MessageKind::kText:
      break;
  }
  return "text";
}

// Kinds whose body names attachments.
inline bool HasAttachments(MessageKind kind) {
  return kind == MessageKind::kFile || kind == MessageKind::kImage;
}

inline std::string_view ConvKindName(ConvKind kind) {
  return kind == ConvKind::kGroup ? "group" : "direct";
}

std::string_view EventTypeName(EventType type);

std::optional<Role> ParseRole(std::string_view name);
std::optional<MessageKind> ParseMessageKind(std::string_view name);
std::optional<ConvKind> ParseConvKind(std::string_view name);
std::optional<EventType> ParseEventType(std::string_view name);

}  // namespace parley
