// Core: the message core assembled — one store, one sequencer, and the services over them.
// The application (parleyd, tests, the benchmark) creates one Core and calls the
// services through it.
//
// Thread-safety: the services are thread-safe; Shutdown() must not race with new calls.
#pragma once

#include <memory>

#include "service/accounts.h"
#include "service/blocks.h"
#include "service/config.h"
#include "service/conversations.h"
#include "service/invites.h"
#include "service/messaging.h"
#include "service/sequencer.h"
#include "service/timeline.h"
#include "store/store.h"

namespace parley {

class Core {
 public:
  // Takes ownership of `store`. Each durable commit is published to `feed` (may be
  // null), which must outlive the Core.
  static Result<std::unique_ptr<Core>> Open(std::unique_ptr<Store> store,
                                            const ServiceConfig& config,
                                            CommitFeed* feed = nullptr);
  ~Core();

  AccountService& accounts() { return *accounts_; }
  BlockService& blocks() { return *blocks_; }
  InviteService& invites() { return *invites_; }
  ConversationService& conversations() { return *conversations_; }
  MessageService& messages() { return *messages_; }
  TimelineService& timeline() { return *timeline_; }
  Sequencer& sequencer() { return *sequencer_; }
  Store& store() { return *store_; }
  const ServiceConfig& config() const { return config_; }

  // Commits every queued request, stops the sequencer, then closes the store.
  void Shutdown();

 private:
  Core() = default;

  ServiceConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<AccountService> accounts_;
  std::unique_ptr<BlockService> blocks_;
  std::unique_ptr<InviteService> invites_;
  std::unique_ptr<ConversationService> conversations_;
  std::unique_ptr<MessageService> messages_;
  std::unique_ptr<TimelineService> timeline_;
};

}  // namespace parley
