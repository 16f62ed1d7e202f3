#include "service/core.h"

#include "common/crypto.h"

namespace parley {

Result<std::unique_ptr<Core>> Core::Open(std::unique_ptr<Store> store, const ServiceConfig& config,
                                         CommitFeed* feed, const SequencerTimings& timings) {
  PARLEY_RETURN_IF_ERROR(InitCrypto());
  std::unique_ptr<Core> core(new Core());
  core->config_ = config;
  core->store_ = std::move(store);
  PARLEY_ASSIGN_OR_RETURN(core->sequencer_,
                          Sequencer::Start(core->store_.get(), config, feed, timings));
  Store* s = core->store_.get();
  Sequencer* q = core->sequencer_.get();
  core->accounts_ = std::make_unique<AccountService>(s, q, config);
  core->blocks_ = std::make_unique<BlockService>(s, q);
  core->invites_ = std::make_unique<InviteService>(s);
  core->conversations_ = std::make_unique<ConversationService>(s, q, config);
  core->messages_ = std::make_unique<MessageService>(q, config);
  core->timeline_ = std::make_unique<TimelineService>(s, q, config);
  return core;
}

Core::~Core() { Shutdown(); }

void Core::Shutdown() {
  if (sequencer_) sequencer_->Stop();
  store_.reset();
}

Result<UserRecord> Core::Register(std::string_view name, std::string_view password,
                                  std::string_view invite) {
  return RegisterUnderPolicy(*accounts_, *invites_, config_.registration, name, password, invite);
}

}  // namespace parley
