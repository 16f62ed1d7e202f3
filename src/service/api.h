// The core API: everything a connection may ask of the message core, and nothing more.
//
// The edge (gateway, admin endpoints, search scoping) depends on these interfaces only —
// never on the concrete Core, its Store or its Sequencer. Today `Core` implements them in
// process (service/core.h); a stateless gateway node in cluster mode implements the same
// interfaces over RPC, so the edge does not change. Arguments and results are model types
// (model/) and Status codes from docs/protocol.md §4.
//
// Membership: every call that names a conversation answers kNotMember (service/membership.h,
// one rule, one message) to a user who is not a member of it — also when it does not exist,
// so ids reveal nothing to outsiders.
//
// Thread-safety: every method may be called from any thread. Methods that return a Result
// block until their commit is durable (worker threads only); methods that take a Callback
// return at once and call it on the core's committer thread, which must not block.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "model/api_types.h"
#include "model/records.h"
#include "service/config.h"

namespace parley {

class AccountsApi {
 public:
  virtual ~AccountsApi() = default;

  // The user whose password this is; kUnauthenticated otherwise (unknown names cost the
  // same time as known ones). Hashes: call from the hashing pool.
  virtual Result<UserRecord> CheckPassword(std::string_view name, std::string_view password) = 0;
  // Issues a token for `device_id`, replacing (revoking) that device's previous token.
  virtual Result<LoginResult> OpenDevice(const UserRecord& user, std::string_view device_id) = 0;
  // The identity of a live token; kUnauthenticated for unknown, revoked or expired ones.
  virtual Result<Identity> Authenticate(std::string_view token) = 0;
  // Authenticate, telling an expired token and a due last-seen update apart (no write).
  virtual Result<TokenCheck> CheckToken(std::string_view token) = 0;
  // Records a use of `who`'s token (at most once per TouchInterval()).
  virtual Status Touch(const Identity& who) = 0;
  virtual int64_t TouchInterval() const = 0;
  virtual Status Logout(const Identity& who) = 0;
  virtual Status RevokeDevice(UserId user, std::string_view device_id) = 0;
  virtual Result<std::vector<DeviceRecord>> Devices(UserId user) = 0;
  // Changes the password and revokes every other device; returns how many were revoked.
  virtual Result<size_t> ChangePassword(const Identity& who, std::string_view old_password,
                                        std::string_view new_password) = 0;
  virtual Result<UserRecord> GetUser(UserId id) = 0;
  virtual Result<UserRecord> FindUser(std::string_view name) = 0;
  // Token checks are cached per node (service/token_cache.h). Another node's revocation
  // of `user`'s devices, or hints possibly lost (Redis reconnected), drop cached tokens.
  virtual void ForgetCachedTokens(UserId user) = 0;
  virtual void ForgetAllCachedTokens() = 0;
};

class BlocksApi {
 public:
  virtual ~BlocksApi() = default;

  virtual Status Block(UserId me, UserId user) = 0;
  virtual Status Unblock(UserId me, UserId user) = 0;
  virtual Result<std::vector<BlockRecord>> List(UserId me) = 0;
};

class ConversationsApi {
 public:
  virtual ~ConversationsApi() = default;

  // The direct conversation of the pair, created on first use (service/conversations.h).
  virtual Result<ConversationRecord> OpenDirect(UserId me, UserId peer) = 0;
  virtual Result<ConversationRecord> CreateGroup(UserId owner, const std::string& title,
                                                 const std::vector<UserId>& members) = 0;
  virtual Status AddMembers(UserId actor, ConvId conv, const std::vector<UserId>& users) = 0;
  virtual Status RemoveMember(UserId actor, ConvId conv, UserId target) = 0;
  virtual Status Leave(UserId me, ConvId conv) = 0;
  virtual Status Rename(UserId actor, ConvId conv, const std::string& title) = 0;
  virtual Status SetRole(UserId actor, ConvId conv, UserId target, Role role) = 0;

  // The conversation and `me`'s role in it.
  virtual Result<ConversationInfo> Get(UserId me, ConvId conv) = 0;
  virtual Result<std::vector<MemberRecord>> Members(UserId me, ConvId conv) = 0;
  // Who else hears `me`'s activity in `conv` (typing): the other members who see it.
  virtual Result<std::vector<UserId>> Audience(UserId me, ConvId conv) = 0;
  // The conversations `me` may search now: all of them, or only `conv` (kNotMember if
  // `me` is not a member of it). Read at the call: a removed member stops at once.
  virtual Result<std::vector<ConvId>> Scope(UserId me, std::optional<ConvId> conv) = 0;
};

class MessagesApi {
 public:
  virtual ~MessagesApi() = default;

  // Idempotent per (sender, client_msg_id): a retry gets the first ack, duplicate = true.
  virtual void Send(const Identity& who, SendRequest request, Callback<SendAck> done) = 0;
  virtual void Recall(const Identity& who, ConvId conv, Seq seq, Callback<bool> done) = 0;
  virtual void Edit(const Identity& who, ConvId conv, Seq seq, std::string body,
                    Callback<EditReply> done) = 0;
  virtual void MarkRead(const Identity& who, ConvId conv, Seq seq, Callback<ReadReply> done) = 0;
};

class TimelineApi {
 public:
  virtual ~TimelineApi() = default;

  virtual Result<SyncReply> Sync(const Identity& who, const SyncRequest& request) = 0;
  virtual Result<HistoryPage> History(const Identity& who, const HistoryRequest& request) = 0;
  virtual Result<std::vector<ConversationSummary>> ListConversations(const Identity& who) = 0;
};

// The whole API, as the edge holds it.
class CoreApi {
 public:
  virtual ~CoreApi() = default;

  virtual AccountsApi& accounts() = 0;
  virtual BlocksApi& blocks() = 0;
  virtual ConversationsApi& conversations() = 0;
  virtual MessagesApi& messages() = 0;
  virtual TimelineApi& timeline() = 0;
  // Registers an account under the configured policy (open, invite, closed); an invite's
  // use is given back if the registration fails. Hashes: call from the hashing pool.
  virtual Result<UserRecord> Register(std::string_view name, std::string_view password,
                                      std::string_view invite) = 0;
  // The limits and policies the edge checks before it asks (sizes, registration policy).
  virtual const ServiceConfig& config() const = 0;
};

}  // namespace parley
