// Core: the message core assembled — one store, one sequencer, and the services over them.
// It implements the core API (service/api.h) in process: the edge holds it as a CoreApi
// and never sees store() or sequencer(), which are for the wiring (backups, search, the
// commit feed), tests and the benchmark.
//
// Thread-safety: the services are thread-safe; Shutdown() must not race with new calls.
#pragma once

#include <memory>

#include "service/accounts.h"
#include "service/api.h"
#include "service/blocks.h"
#include "service/config.h"
#include "service/conversations.h"
#include "service/invites.h"
#include "service/messaging.h"
#include "service/sequencer.h"
#include "service/timeline.h"
#include "store/store.h"

namespace parley {

class Core final : public CoreApi {
 public:
  // Takes ownership of `store`. Each durable commit is published to `feed` (may be
  // null), which must outlive the Core.
  static Result<std::unique_ptr<Core>> Open(std::unique_ptr<Store> store,
                                            const ServiceConfig& config, CommitFeed* feed = nullptr,
                                            const SequencerTimings& timings = {});
  ~Core();

  AccountService& accounts() override { return *accounts_; }
  BlockService& blocks() override { return *blocks_; }
  ConversationService& conversations() override { return *conversations_; }
  MessageService& messages() override { return *messages_; }
  TimelineService& timeline() override { return *timeline_; }
  Result<UserRecord> Register(std::string_view name, std::string_view password,
                              std::string_view invite) override;
  const ServiceConfig& config() const override { return config_; }

  InviteService& invites() { return *invites_; }
  Sequencer& sequencer() { return *sequencer_; }
  Store& store() { return *store_; }

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
