#include "gateway/command_table.h"

#include <string>

#include "gateway/dispatcher.h"

namespace parley {

std::string_view AuthRuleName(AuthRule rule) {
  return rule == AuthRule::kAnyone ? "anyone" : "logged in";
}

std::string_view RateBucketName(RateBucket bucket) {
  switch (bucket) {
    case RateBucket::kNone:
      return "-";
    case RateBucket::kAccount:
      return "account";
    case RateBucket::kLookup:
      return "lookup";
    case RateBucket::kSend:
      return "send";
    case RateBucket::kTyping:
      return "typing";
    case RateBucket::kMembership:
      return "membership";
    case RateBucket::kSearch:
      return "search";
  }
  return "?";
}

std::string_view LaneName(Lane lane) {
  switch (lane) {
    case Lane::kInline:
      return "inline";
    case Lane::kSequencer:
      return "sequencer";
    case Lane::kWorker:
      return "worker";
    case Lane::kWorkerInOrder:
      return "worker, in order";
    case Lane::kHasher:
      return "hashing pool";
  }
  return "?";
}

const std::array<Command, kOpCount>& Dispatcher::Table() {
  using A = AuthRule;
  using B = RateBucket;
  using L = Lane;
  using D = Dispatcher;
  // In the order of the Op enum; CommandTable.CommandsAreInEnumOrderWithAHandlerEach
  // (gateway_unit_test) checks it.
  static const std::array<Command, kOpCount> table = {{
      {Op::kPing, A::kAnyone, B::kNone, L::kInline, &D::Ping, "liveness; the server's clock"},
      {Op::kRegister, A::kAnyone, B::kAccount, L::kHasher, &D::Register,
       "create an account (open, invite or closed registration)"},
      {Op::kLogin, A::kAnyone, B::kAccount, L::kHasher, &D::Login,
       "password login; issues a device token"},
      {Op::kAuth, A::kAnyone, B::kAccount, L::kInline, &D::Auth, "resume with a device token"},
      {Op::kLogout, A::kLoggedIn, B::kNone, L::kWorker, &D::Logout,
       "revoke this device's token; its other sessions close"},
      {Op::kUsers, A::kLoggedIn, B::kLookup, L::kInline, &D::Users, "look users up by id or name"},
      {Op::kSend, A::kLoggedIn, B::kSend, L::kSequencer, &D::Send,
       "send a message (idempotent per client_msg_id); `to` opens the direct conversation "
       "on a worker first"},
      {Op::kSync, A::kLoggedIn, B::kNone, L::kInline, &D::Sync,
       "inbox events after a cursor (catch-up)"},
      {Op::kHistory, A::kLoggedIn, B::kNone, L::kInline, &D::History,
       "a page of a conversation's messages, by sequence or time"},
      {Op::kConvs, A::kLoggedIn, B::kNone, L::kInline, &D::Convs,
       "the conversation list with unread counts and previews"},
      {Op::kConvOpen, A::kLoggedIn, B::kNone, L::kWorkerInOrder, &D::ConvOpen,
       "the direct conversation with a user, created on first use"},
      {Op::kConvCreate, A::kLoggedIn, B::kMembership, L::kWorkerInOrder, &D::ConvCreate,
       "create a group"},
      {Op::kConvGet, A::kLoggedIn, B::kNone, L::kInline, &D::ConvGet,
       "one conversation and the asker's role"},
      {Op::kConvMembers, A::kLoggedIn, B::kNone, L::kInline, &D::ConvMembers,
       "a conversation's members and roles"},
      {Op::kConvAdd, A::kLoggedIn, B::kMembership, L::kWorkerInOrder, &D::ConvChange,
       "add members to a group"},
      {Op::kConvRemove, A::kLoggedIn, B::kMembership, L::kWorkerInOrder, &D::ConvChange,
       "remove a member from a group"},
      {Op::kConvLeave, A::kLoggedIn, B::kMembership, L::kWorkerInOrder, &D::ConvChange,
       "leave a group"},
      {Op::kConvRename, A::kLoggedIn, B::kMembership, L::kWorkerInOrder, &D::ConvChange,
       "rename a group"},
      {Op::kConvRole, A::kLoggedIn, B::kMembership, L::kWorkerInOrder, &D::ConvChange,
       "make a member an admin, or an admin a member"},
      {Op::kRead, A::kLoggedIn, B::kNone, L::kSequencer, &D::Read, "move the read cursor"},
      {Op::kRecall, A::kLoggedIn, B::kNone, L::kSequencer, &D::Recall, "recall a message"},
      {Op::kEdit, A::kLoggedIn, B::kSend, L::kSequencer, &D::Edit, "edit a text message"},
      {Op::kTyping, A::kLoggedIn, B::kTyping, L::kInline, &D::Typing,
       "tell the other members that the user is typing (not stored)"},
      {Op::kSearch, A::kLoggedIn, B::kSearch, L::kWorker, &D::Search,
       "full-text search over the asker's conversations"},
      {Op::kBlock, A::kLoggedIn, B::kNone, L::kWorkerInOrder, &D::BlockChange,
       "refuse direct messages and group adds from a user"},
      {Op::kUnblock, A::kLoggedIn, B::kNone, L::kWorkerInOrder, &D::BlockChange, "lift a block"},
      {Op::kBlocks, A::kLoggedIn, B::kNone, L::kWorker, &D::Blocks, "the users the asker blocks"},
      {Op::kPasswordChange, A::kLoggedIn, B::kAccount, L::kHasher, &D::PasswordChange,
       "change the password; every other device is logged out"},
      {Op::kDevices, A::kLoggedIn, B::kNone, L::kInline, &D::Devices,
       "the user's logged-in devices"},
      {Op::kDeviceRevoke, A::kLoggedIn, B::kNone, L::kWorkerInOrder, &D::DeviceRevoke,
       "log one of the user's devices out"},
  }};
  return table;
}

const std::array<Command, kOpCount>& Commands() { return Dispatcher::Table(); }

std::string OpTableMarkdown() {
  std::string out =
      "| op | who may send it | rate limit | runs on | what it does |\n"
      "|---|---|---|---|---|\n";
  for (const Command& c : Commands()) {
    out += "| `" + std::string(c.name()) + "` | " + std::string(AuthRuleName(c.auth)) + " | " +
           std::string(RateBucketName(c.bucket)) + " | " + std::string(LaneName(c.lane)) + " | " +
           std::string(c.summary) + " |\n";
  }
  return out;
}

}  // namespace parley
