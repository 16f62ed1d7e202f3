// TimelineService: the reading half — sync (pull after a cursor), history (roaming) and
// the conversation list. Reads go straight to the store and see only committed data.
//
// Thread-safety: all methods are thread-safe and never touch the sequencer thread.
#pragma once

#include "model/api_types.h"
#include "service/api.h"
#include "service/config.h"
#include "service/sequencer.h"
#include "store/store.h"

namespace parley {

class TimelineService final : public TimelineApi {
 public:
  TimelineService(Store* store, Sequencer* sequencer, const ServiceConfig& config)
      : store_(store), sequencer_(sequencer), config_(config) {}

  // Events of `who` after request.since, with their messages attached; plus the heads of
  // read-fan-out conversations that moved after request.heads_since. Records
  // request.since as the device's processed cursor. Events of conversations `who` is no
  // longer a member of come as kWithheld stand-ins (same user_seq, no message), except
  // their own member_joined / member_left.
  Result<SyncReply> Sync(const Identity& who, const SyncRequest& request) override;

  // One page of a conversation's storage timeline. kNotMember for outsiders (also for
  // former members, and for the peer a direct conversation is still hidden from).
  Result<HistoryPage> History(const Identity& who, const HistoryRequest& request) override;

  // The user's conversations, most recently active first, with unread counts and the
  // last message as a preview.
  Result<std::vector<ConversationSummary>> ListConversations(const Identity& who) override;

 private:
  // The first conv_seq whose message is at or after `time_ms` (head + 1 if none).
  Result<Seq> FirstSeqAtOrAfter(ConvId conv, const ConvHead& head, int64_t time_ms);

  Store* store_;
  Sequencer* sequencer_;
  ServiceConfig config_;
};

}  // namespace parley
