#include "model/names.h"

namespace parley {

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kMessage:
      return "message";
    case EventType::kRecall:
      return "recall";
    case EventType::kRead:
      return "read";
    case EventType::kReceipt:
      return "receipt";
    case EventType::kMemberJoined:
      return "member_joined";
    case EventType::kMemberLeft:
      return "member_left";
    case EventType::kConvUpdated:
      return "conv_updated";
    case EventType::kEdit:
      return "edit";
    case EventType::kWithheld:
      return "withheld";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kMember, Role::kAdmin, Role::kOwner})
    if (RoleName(r) == name) return r;
  return std::nullopt;
}

std::optional<MessageKind> ParseMessageKind(std::string_view name) {
  for (MessageKind k :
       {MessageKind::kText, MessageKind::kCustom, MessageKind::kFile, MessageKind::kImage})
    if (MessageKindName(k) == name) return k;
  return std::nullopt;
}

std::optional<ConvKind> ParseConvKind(std::string_view name) {
  for (ConvKind k : {ConvKind::kDirect, ConvKind::kGroup})
    if (ConvKindName(k) == name) return k;
  return std::nullopt;
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (int t = static_cast<int>(EventType::kMessage); t <= static_cast<int>(EventType::kWithheld);
       ++t) {
    if (EventTypeName(static_cast<EventType>(t)) == name) return static_cast<EventType>(t);
  }
  return std::nullopt;
}

}  // namespace parley
