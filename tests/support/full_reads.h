// Whole-timeline reads for integration tests over real WebSockets: a user's entire sync
// timeline and a conversation's entire history, paged, every page bounded.
//
// Thread-safety: as BlockingClient (one caller at a time per client).
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "client/blocking_client.h"

namespace parley::test {

// The user's whole sync timeline from user_seq 1; fails the test unless it is 1..N
// exactly once, in order.
inline std::vector<SyncItem> SyncAll(client::BlockingClient& c) {
  std::vector<SyncItem> out;
  Seq since = 0;
  for (int page = 0; page < 1000; ++page) {
    auto r = c.Sync(since, 500);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    for (auto& item : r->items) {
      EXPECT_EQ(item.event.user_seq, out.size() + 1) << "gap or duplicate in the sync timeline";
      out.push_back(item);
    }
    since = r->next;
    if (!r->has_more) break;
  }
  return out;
}

// The conversation's whole history, oldest first, paged forwards.
inline std::vector<MessageRecord> HistoryForward(client::BlockingClient& c, ConvId conv) {
  std::vector<MessageRecord> out;
  client::HistoryQuery q;
  q.after = 0;
  q.limit = 100;
  for (int page = 0; page < 1000; ++page) {
    auto r = c.History(conv, q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->messages.empty()) break;
    out.insert(out.end(), r->messages.begin(), r->messages.end());
    q.after = out.back().seq;
    if (!r->has_more_after) break;
  }
  return out;
}

}  // namespace parley::test
