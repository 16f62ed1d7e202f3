// The names of record enums as they appear on the wire (docs/protocol.md) and in exports
// (docs/export.md): one spelling for both.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "store/records.h"

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
  return kind == MessageKind::kCustom ? "custom" : "text";
}

inline std::string_view ConvKindName(ConvKind kind) {
  return kind == ConvKind::kGroup ? "group" : "direct";
}

}  // namespace parley
