// CommitListener: told, after each durable commit, what changed for whom, so the hub can
// push to online devices. Called on the sequencer's committer thread, in commit order: it
// must not block.
#pragma once

#include <memory>
#include <vector>

#include "model/records.h"

namespace parley {

// A read-fan-out conversation moved: its members get no inbox event, so the hub pushes
// the head to the online ones.
struct ConvMoved {
  ConvId conv_id = 0;
  Seq last_seq = 0;
  int64_t last_ms = 0;
  uint64_t gseq = 0;
  std::shared_ptr<const std::vector<UserId>> members;
};

struct CommitNotice {
  std::vector<InboxEvent> events;  // in commit order; per user, ascending user_seq
  std::vector<ConvMoved> conv_moves;
  // Messages created, recalled or edited in this commit, so pushes
  // can carry them without a read.
  std::vector<MessageRecord> messages;
  uint64_t committed_gseq = 0;
  size_t tasks = 0;  // requests folded into this commit
};

class CommitListener {
 public:
  virtual ~CommitListener() = default;
  virtual void OnCommit(const CommitNotice& notice) = 0;
};

}  // namespace parley
