#include "service/membership.h"

#include <string>

namespace parley {

Status NotMember(ConvId conv) {
  return Status(Code::kNotMember, "not a member of conversation " + std::to_string(conv));
}

Result<Membership> ReadMembership(Store& store, UserId user, ConvId conv) {
  auto member = store.GetMember(conv, user);
  if (!member.ok()) {
    return member.status().code() == Code::kNotFound ? NotMember(conv) : member.status();
  }
  auto record = store.GetConversation(conv);
  if (!record.ok()) {
    return record.status().code() == Code::kNotFound ? NotMember(conv) : record.status();
  }
  if (record->hidden_from == user) return NotMember(conv);  // not shown to them yet
  return Membership{std::move(*record), std::move(*member)};
}

}  // namespace parley
