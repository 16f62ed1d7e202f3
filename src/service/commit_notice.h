// CommitNotice: what one durable commit changed and for whom — the inbox events it
// appended, the read-fan-out heads it moved and the messages it created, recalled or
// edited. The sequencer builds one per commit and hands it to the CommitFeed
// (service/commit_feed.h), which shares it, immutable, with every subscriber.
//
// Thread-safety: a published notice is const and shared; read it from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "model/records.h"

namespace parley {

// The head of a read-fan-out conversation moved: its members get no inbox event, so the
// hub pushes the head to the online ones.
struct HeadMoved {
  ConvId conv_id = 0;
  Seq last_seq = 0;
  int64_t last_ms = 0;
  uint64_t gseq = 0;
  // The members when the head moved (shared with the sequencer's cache, never copied).
  std::shared_ptr<const std::vector<UserId>> members;
};

struct CommitNotice {
  std::vector<InboxEvent> events;  // in commit order; per user, ascending user_seq
  // Parallel to `events`: the connection (gateway session id) that caused each event and
  // already knows it from its reply, so the hub does not push it back there; 0 = none.
  std::vector<uint64_t> origins;
  std::vector<HeadMoved> head_moves;
  // Messages created, recalled or edited in this commit, so pushes can carry them
  // without a read.
  std::vector<MessageRecord> messages;
  uint64_t committed_gseq = 0;
  size_t tasks = 0;  // requests folded into this commit
  // When the commit became durable: the feed's delivery delay is measured from here.
  std::chrono::steady_clock::time_point committed_at{};
};

}  // namespace parley
