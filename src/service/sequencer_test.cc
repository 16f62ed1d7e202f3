// The sequencer's ordering guarantees: gapless conv_seq under concurrency, user_seq in
// commit order, group-commit failure handling (abandoned batches, failed commits under
// the two-stage pipeline), shutdown and the commit feed.
#include "service/sequencer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Id;
using test::Results;
using test::Signal;
using namespace std::chrono_literals;

class SequencerTest : public test::OnEveryStore<test::CoreTest> {};

// Checks that `msgs` are exactly conv_seq 1..n with msg_id strictly increasing.
void ExpectGapless(const std::vector<MessageRecord>& msgs, size_t n) {
  ASSERT_EQ(msgs.size(), n);
  for (size_t i = 0; i < msgs.size(); ++i) {
    ASSERT_EQ(msgs[i].seq, i + 1);
    if (i > 0) {
      ASSERT_GT(msgs[i].msg_id, msgs[i - 1].msg_id) << "at seq " << msgs[i].seq;
    }
  }
}

TEST_P(SequencerTest, ConvSeqGaplessWithEightSendersInOneConversation) {
  constexpr int kThreads = 8, kPerThread = 150;
  auto users = MakeUsers(kThreads);
  auto group = core().conversations().CreateGroup(
      users[0], "busy", std::vector<UserId>(users.begin() + 1, users.end()));
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  const ConvId conv = group->id;

  std::vector<std::vector<SendAck>> acks(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) acks[t].push_back(Send(Id(users[t]), conv));
    });
  }
  for (auto& th : threads) th.join();

  std::set<Seq> seqs;
  std::set<uint64_t> msg_ids;
  std::map<Seq, SendAck> by_seq;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(acks[t].size(), static_cast<size_t>(kPerThread));
    for (size_t i = 0; i < acks[t].size(); ++i) {
      const SendAck& a = acks[t][i];
      EXPECT_FALSE(a.duplicate);
      EXPECT_TRUE(seqs.insert(a.seq).second) << "seq " << a.seq << " acknowledged twice";
      EXPECT_TRUE(msg_ids.insert(a.msg_id).second);
      // One thread's sends are causally ordered: their seqs increase.
      if (i > 0) {
        EXPECT_GT(a.seq, acks[t][i - 1].seq);
      }
      by_seq[a.seq] = a;
    }
  }
  const size_t total = kThreads * kPerThread;
  ASSERT_EQ(seqs.size(), total);
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), total);
  EXPECT_EQ(Head(conv), total);

  auto msgs = AllMessages(conv);
  ExpectGapless(msgs, total);
  for (const auto& m : msgs) {
    EXPECT_EQ(m.msg_id, by_seq[m.seq].msg_id);
    EXPECT_EQ(m.server_ms, by_seq[m.seq].server_ms);
  }
  // The same through the history API.
  HistoryRequest req;
  req.conv_id = conv;
  req.mode = HistoryRequest::Mode::kAfter;
  req.limit = 200;
  std::vector<Seq> paged;
  for (int page = 0; page < 100; ++page) {
    auto r = core().timeline().History(Id(users[1]), req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& m : r->messages) paged.push_back(m.seq);
    if (!r->has_more_after) break;
    ASSERT_FALSE(r->messages.empty());
    req.seq = r->messages.back().seq;
  }
  ASSERT_EQ(paged.size(), total);
  for (size_t i = 0; i < paged.size(); ++i) ASSERT_EQ(paged[i], i + 1);
}

TEST_P(SequencerTest, ConvSeqGaplessWithEightSendersAcrossConversations) {
  constexpr int kThreads = 8, kPerThread = 120, kConvs = 4;
  auto users = MakeUsers(kThreads + 1);
  const UserId hub = users[kThreads];
  std::vector<ConvId> convs;
  for (int c = 0; c < kConvs; ++c) {
    auto g = core().conversations().CreateGroup(
        hub, test::Cat("g", c), std::vector<UserId>(users.begin(), users.end() - 1));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    convs.push_back(g->id);
  }
  // Also one direct conversation per sender, written only by that sender.
  std::vector<ConvId> directs;
  for (int t = 0; t < kThreads; ++t) {
    auto d = core().conversations().OpenDirect(users[t], hub);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    directs.push_back(d->id);
  }

  std::vector<std::vector<SendAck>> acks(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        ConvId conv = i % 3 == 2 ? directs[t] : convs[(t + i) % kConvs];
        acks[t].push_back(Send(Id(users[t]), conv));
      }
    });
  }
  for (auto& th : threads) th.join();

  std::map<ConvId, std::set<Seq>> seqs;
  std::set<uint64_t> msg_ids;
  for (const auto& per_thread : acks) {
    for (const auto& a : per_thread) {
      EXPECT_TRUE(seqs[a.conv_id].insert(a.seq).second) << "conv " << a.conv_id << " seq " << a.seq;
      EXPECT_TRUE(msg_ids.insert(a.msg_id).second);
    }
  }
  size_t total = 0;
  for (ConvId conv : convs) total += seqs[conv].size();
  for (ConvId conv : directs) {
    EXPECT_EQ(seqs[conv].size(), static_cast<size_t>(kPerThread / 3));
    total += seqs[conv].size();
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kPerThread));
  for (auto& [conv, s] : seqs) {
    SCOPED_TRACE(test::Cat("conv ", conv));
    EXPECT_EQ(Head(conv), s.size());
    ExpectGapless(AllMessages(conv), s.size());
  }
}

TEST_P(SequencerTest, UserSeqFollowsCommitOrder) {
  constexpr int kPeers = 8, kPerThread = 100;
  auto users = MakeUsers(kPeers + 1);
  const UserId me = users[kPeers];
  std::vector<UserId> peers(users.begin(), users.end() - 1);
  std::vector<ConvId> directs;
  for (UserId p : peers) {
    auto d = core().conversations().OpenDirect(p, me);
    ASSERT_TRUE(d.ok());
    directs.push_back(d->id);
  }
  auto g1 = core().conversations().CreateGroup(me, "one", peers);
  auto g2 = core().conversations().CreateGroup(peers[0], "two", {me, peers[1], peers[2]});
  ASSERT_TRUE(g1.ok() && g2.ok());
  const Seq before = LastUserSeq(me);

  std::latch start(kPeers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kPeers; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        ConvId conv = directs[t];
        if (i % 4 == 1) conv = g1->id;
        if (i % 4 == 3 && t < 3) conv = g2->id;
        Send(Id(peers[t]), conv);
      }
    });
  }
  for (auto& th : threads) th.join();

  for (UserId user : {me, peers[0], peers[5]}) {
    SCOPED_TRACE(test::Cat("user ", user));
    auto inbox = Inbox(user);
    ASSERT_FALSE(inbox.empty());
    std::set<std::pair<ConvId, Seq>> seen;
    uint64_t last_gseq = 0;
    size_t messages = 0;
    for (size_t i = 0; i < inbox.size(); ++i) {
      ASSERT_EQ(inbox[i].user_seq, i + 1) << "gap in the sync timeline";
      if (inbox[i].type != EventType::kMessage) continue;
      ++messages;
      EXPECT_GT(inbox[i].gseq, last_gseq) << "user_seq " << inbox[i].user_seq;
      last_gseq = inbox[i].gseq;
      EXPECT_TRUE(seen.insert({inbox[i].conv_id, inbox[i].conv_seq}).second);
      // The event's gseq is the message's msg_id.
      auto m = core().store().GetMessage(inbox[i].conv_id, inbox[i].conv_seq);
      ASSERT_TRUE(m.ok());
      EXPECT_EQ(m->msg_id, inbox[i].gseq);
    }
    if (user == me) {
      EXPECT_EQ(messages, static_cast<size_t>(kPeers * kPerThread));
      // Plus one member_joined per direct conversation the peers opened: it is shown to
      // `me` with its first message.
      EXPECT_EQ(inbox.size(), before + messages + kPeers);
    }
    // Sync in odd-sized pages sees the same timeline.
    auto synced = SyncAll(Id(user), 0, 77);
    ASSERT_EQ(synced.size(), inbox.size());
    for (size_t i = 0; i < synced.size(); ++i) {
      EXPECT_EQ(synced[i].event.user_seq, inbox[i].user_seq);
      EXPECT_EQ(synced[i].event.gseq, inbox[i].gseq);
      if (synced[i].event.type == EventType::kMessage) {
        ASSERT_TRUE(synced[i].message.has_value());
        EXPECT_EQ(synced[i].message->msg_id, inbox[i].gseq);
      }
    }
  }
}

// A task that blocks the sequencer thread until released, so that the tasks submitted
// meanwhile are staged together in the next batch.
struct Blocker {
  Signal running, release;
  void Submit(Sequencer& seq) {
    seq.Submit(Sequencer::Task{[this](CommitBatch&) {
                                 running.Notify();
                                 EXPECT_TRUE(release.WaitFor(30s));
                                 return Status::Ok();
                               },
                               [](const Status&) {}});
    ASSERT_TRUE(running.WaitFor(30s));
  }
};

SendRequest Text(ConvId conv, std::string cmid, std::string body = "hi") {
  SendRequest r;
  r.conv_id = conv;
  r.client_msg_id = std::move(cmid);
  r.body = std::move(body);
  return r;
}

TEST_P(SequencerTest, TaskFailingBeforeStagingFailsAlone) {
  auto users = MakeUsers(2);
  auto conv = core().conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());
  Blocker blocker;
  blocker.Submit(core().sequencer());
  Results<SendAck> sends(2);
  std::optional<Status> failed;
  Signal failed_done;
  core().messages().Send(Id(users[0]), Text(conv->id, "a"), sends.Slot(0));
  core().sequencer().Submit(
      Sequencer::Task{[](CommitBatch&) { return Status(Code::kFailedPrecondition, "refused"); },
                      [&](const Status& s) {
                        failed = s;
                        failed_done.Notify();
                      }});
  core().messages().Send(Id(users[1]), Text(conv->id, "b"), sends.Slot(1));
  blocker.release.Notify();
  sends.Wait();
  ASSERT_TRUE(failed_done.WaitFor(30s));
  EXPECT_EQ(failed->code(), Code::kFailedPrecondition);
  ASSERT_TRUE(sends[0].ok()) << sends[0].status().ToString();
  ASSERT_TRUE(sends[1].ok()) << sends[1].status().ToString();
  EXPECT_EQ(sends[0]->seq, 1u);
  EXPECT_EQ(sends[1]->seq, 2u);
  EXPECT_EQ(core().sequencer().stats().commit_failures, 0u);
}

TEST_P(SequencerTest, HalfStagedTaskAbandonsItsBatchAndCachesAreRebuilt) {
  auto users = MakeUsers(2);
  auto conv = core().conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());
  Send(Id(users[0]), conv->id);
  const Seq inbox_before = LastUserSeq(users[1]);
  const uint64_t gseq_before = core().sequencer().committed_gseq();

  Blocker blocker;
  blocker.Submit(core().sequencer());
  Results<SendAck> sends(2);
  std::optional<Status> half;
  Signal half_done;
  core().messages().Send(Id(users[0]), Text(conv->id, "retry-me"), sends.Slot(0));
  core().sequencer().Submit(
      Sequencer::Task{[&](CommitBatch& b) {
                        b.writes().Add(op::PutReadCursor{users[0], conv->id, 99});
                        return Status(Code::kIOError, "failed halfway");
                      },
                      [&](const Status& s) {
                        half = s;
                        half_done.Notify();
                      }});
  core().messages().Send(Id(users[1]), Text(conv->id, "other"), sends.Slot(1));
  blocker.release.Notify();
  sends.Wait();
  ASSERT_TRUE(half_done.WaitFor(30s));
  EXPECT_EQ(half->code(), Code::kInternal);
  EXPECT_EQ(sends[0].status().code(), Code::kInternal);
  EXPECT_EQ(sends[1].status().code(), Code::kInternal);

  // Nothing of the batch is stored, and the sequencer continues from the store.
  EXPECT_EQ(Head(conv->id), 1u);
  EXPECT_EQ(LastUserSeq(users[1]), inbox_before);
  auto cursor = core().store().GetReadCursor(users[0], conv->id);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 1u);
  // The abandoned send was never acknowledged: a retry stores it now.
  auto retry = core().messages().SendSync(Id(users[0]), Text(conv->id, "retry-me"));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_FALSE(retry->duplicate);
  EXPECT_EQ(retry->seq, 2u);
  EXPECT_GT(retry->msg_id, gseq_before);
  Send(Id(users[1]), conv->id);
  ExpectGapless(AllMessages(conv->id), 3);
  auto inbox = Inbox(users[1]);
  for (size_t i = 0; i < inbox.size(); ++i) EXPECT_EQ(inbox[i].user_seq, i + 1);
  EXPECT_EQ(inbox.size(), inbox_before + 2);
}

// Delegates to a real store; can make one Apply block until released and then fail.
class FaultyStore : public test::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  void FailNextApply() { fail_next_ = true; }
  Signal apply_entered, apply_release;

  int dedup_reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return dedup_reads_;
  }
  // Waits until GetDedup has been called more than `n` times (a send was staged).
  bool WaitDedupReadsAbove(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return dedup_reads_ > n; });
  }

  Result<DedupRecord> GetDedup(UserId s, std::string_view id, int64_t now) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++dedup_reads_;
      cv_.notify_all();
    }
    return ForwardingStore::GetDedup(s, id, now);
  }
  Status Apply(const WriteSet& writes, Durability d) override {
    if (fail_next_.exchange(false)) {
      apply_entered.Notify();
      EXPECT_TRUE(apply_release.WaitFor(30s));
      return Status(Code::kIOError, "injected write failure");
    }
    return ForwardingStore::Apply(writes, d);
  }

 private:
  std::atomic<bool> fail_next_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int dedup_reads_ = 0;
};

TEST_P(SequencerTest, FailedCommitFailsTheBatchStagedOnTopAndRecovers) {
  FaultyStore* store = &OpenWrapped<FaultyStore>();
  Core& core = this->core();

  auto users = MakeUsers(2);
  auto conv = core.conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(core.messages().SendSync(Id(users[0]), Text(conv->id, "first")).ok());
  const Seq inbox_before = *store->LastUserSeq(users[1]);

  // Batch N (s1) blocks inside Apply; batch N+1 (s2) is staged on top of it meanwhile.
  store->FailNextApply();
  Results<SendAck> sends(2);
  core.messages().Send(Id(users[0]), Text(conv->id, "s1"), sends.Slot(0));
  ASSERT_TRUE(store->apply_entered.WaitFor(30s));
  const int reads = store->dedup_reads();
  core.messages().Send(Id(users[1]), Text(conv->id, "s2"), sends.Slot(1));
  EXPECT_TRUE(store->WaitDedupReadsAbove(reads)) << "s2 was not staged";
  store->apply_release.Notify();
  sends.Wait();
  EXPECT_EQ(sends[0].status().code(), Code::kIOError);
  EXPECT_EQ(sends[1].status().code(), Code::kIOError);
  EXPECT_GE(core.sequencer().stats().commit_failures, 1u);

  // The caches were rebuilt: numbering continues from what is stored, and the failed
  // client_msg_ids are free (nothing was acknowledged).
  auto again = core.messages().SendSync(Id(users[0]), Text(conv->id, "s1"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(again->seq, 2u);
  auto third = core.messages().SendSync(Id(users[1]), Text(conv->id, "s2"));
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->seq, 3u);
  auto msgs = store->ScanMessages(conv->id, 1, true, 100);
  ASSERT_TRUE(msgs.ok());
  ExpectGapless(*msgs, 3);
  EXPECT_EQ((*msgs)[1].client_msg_id, "s1");
  auto inbox = store->ScanInbox(users[1], 0, 100);
  ASSERT_TRUE(inbox.ok());
  ASSERT_EQ(inbox->size(), inbox_before + 2);
  for (size_t i = 0; i < inbox->size(); ++i) EXPECT_EQ((*inbox)[i].user_seq, i + 1);
  auto changes = store->ScanChanges(0, 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ(changes->back().gseq, third->msg_id);
}

// Delegates to a real store; can hold one Apply until released (a slow disk).
class SlowApplyStore : public test::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  void HoldNextApply() { hold_next_ = true; }
  Signal apply_entered, apply_release;

  Status Apply(const WriteSet& writes, Durability d) override {
    if (hold_next_.exchange(false)) {
      apply_entered.Notify();
      EXPECT_TRUE(apply_release.WaitFor(30s));
    }
    return ForwardingStore::Apply(writes, d);
  }

 private:
  std::atomic<bool> hold_next_{false};
};

// While a commit waits for the disk the queue fills up to max_queued_writes; past it
// requests fail at once with kUnavailable (nothing staged), and the rest commit once the
// disk is back.
TEST_P(SequencerTest, QueueIsBoundedWhileTheStoreIsSlow) {
  constexpr size_t kBound = 10;
  config_.max_queued_writes = kBound;
  SlowApplyStore* store = &OpenWrapped<SlowApplyStore>();
  Core& core = this->core();
  auto users = MakeUsers(2);
  auto conv = core.conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());

  // s0 holds the store; s1 is taken from the queue (staged, or waiting to be).
  store->HoldNextApply();
  Results<SendAck> first(2);
  core.messages().Send(Id(users[0]), Text(conv->id, "s0"), first.Slot(0));
  ASSERT_TRUE(store->apply_entered.WaitFor(30s));
  core.messages().Send(Id(users[0]), Text(conv->id, "s1"), first.Slot(1));
  ASSERT_TRUE(test::WaitUntil([&] { return core.sequencer().stats().queued == 0; }, 30s));

  constexpr size_t kOver = 5;
  Results<SendAck> queued(kBound), over(kOver);
  for (size_t i = 0; i < kBound; ++i) {
    core.messages().Send(Id(users[0]), Text(conv->id, test::Cat("q", i)), queued.Slot(i));
  }
  for (size_t i = 0; i < kOver; ++i) {
    core.messages().Send(Id(users[1]), Text(conv->id, test::Cat("o", i)), over.Slot(i));
  }
  EXPECT_EQ(over.done(), kOver) << "refusals must be immediate";
  EXPECT_EQ(queued.done(), 0u);
  for (size_t i = 0; i < over.done(); ++i) {
    EXPECT_EQ(over[i].status().code(), Code::kUnavailable) << over[i].status().ToString();
  }
  SequencerStats stats = core.sequencer().stats();
  EXPECT_EQ(stats.queued, kBound);
  EXPECT_EQ(stats.largest_queue, kBound);
  EXPECT_EQ(stats.refused_full, kOver);

  store->apply_release.Notify();
  first.Wait();
  queued.Wait();
  for (size_t i = 0; i < 2; ++i) ASSERT_TRUE(first[i].ok()) << first[i].status().ToString();
  for (size_t i = 0; i < kBound; ++i) ASSERT_TRUE(queued[i].ok()) << queued[i].status().ToString();
  // The queue drained: requests are taken again, and a refused one resent is stored once.
  auto again = core.messages().SendSync(Id(users[1]), Text(conv->id, "o0"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(again->seq, 2 + kBound + 1);
  ExpectGapless(AllMessages(conv->id), 2 + kBound + 1);
  EXPECT_EQ(core.sequencer().stats().refused_full, kOver);
}

TEST_P(SequencerTest, ShutdownCommitsEverythingQueuedThenRefuses) {
  auto users = MakeUsers(2);
  auto conv = core().conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());
  constexpr int kSends = 400;
  Results<SendAck> sends(kSends);
  for (int i = 0; i < kSends; ++i) {
    core().messages().Send(Id(users[i % 2]), Text(conv->id, test::Cat("m", i)), sends.Slot(i));
  }
  core().Shutdown();
  ASSERT_EQ(sends.done(), static_cast<size_t>(kSends));
  for (size_t i = 0; i < sends.size(); ++i) ASSERT_TRUE(sends[i].ok()) << i;

  Results<SendAck> late(1);
  core().messages().Send(Id(users[0]), Text(conv->id, "late"), late.Slot(0));
  late.Wait();
  EXPECT_EQ(late[0].status().code(), Code::kUnavailable);

  Reopen();
  EXPECT_EQ(Head(conv->id), static_cast<Seq>(kSends));
  ExpectGapless(AllMessages(conv->id), kSends);
}

// Each stage is timed where it happens: a wait per task, the rest per batch; the sync only
// for durable batches, and only on a store that can tell its sync apart.
TEST_P(SequencerTest, TimesEachStageOfTheCommitPath) {
  metrics::Histogram queue_wait({0.001}), stage({0.001}), store_write({0.001}), fsync({0.001});
  timings_ = SequencerTimings{&queue_wait, &stage, &store_write, &fsync};
  config_.durability = Durability::kSync;
  auto users = MakeUsers(2);
  auto conv = core().conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());
  const uint64_t tasks_before = queue_wait.count(), batches_before = stage.count();
  SendMany(Id(users[0]), conv->id, 50);
  EXPECT_EQ(queue_wait.count() - tasks_before, 50u);
  const uint64_t batches = stage.count() - batches_before;
  EXPECT_GE(batches, 1u);
  EXPECT_LE(batches, 50u);
  EXPECT_EQ(store_write.count(), stage.count());
  if (store_kind_.name == "RocksStore") {
    EXPECT_EQ(fsync.count(), stage.count());
    EXPECT_GT(fsync.sum(), 0.0);
  }
  Close();  // before the histograms go
}

TEST_P(SequencerTest, CountersContinueAfterReopen) {
  auto users = MakeUsers(3);
  auto conv = core().conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());
  SendAck first = Send(Id(users[0]), conv->id);
  Reopen();
  auto more = MakeUsers(1);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0], users.back() + 1);
  auto conv2 = core().conversations().OpenDirect(users[0], users[2]);
  ASSERT_TRUE(conv2.ok());
  EXPECT_EQ(conv2->id, conv->id + 1);
  SendAck second = Send(Id(users[1]), conv->id);
  EXPECT_EQ(second.seq, 2u);
  EXPECT_EQ(second.msg_id, first.msg_id + 1);
  EXPECT_GE(second.server_ms, first.server_ms);
  EXPECT_EQ(core().sequencer().committed_gseq(), second.msg_id);
}

TEST_P(SequencerTest, TinyCachesAreDroppedAndReloadedWithoutLosingOrder) {
  // The caches are dropped before nearly every batch; numbering must come from the store.
  config_.conv_cache_max = 1;
  config_.user_cache_max = 2;
  constexpr int kThreads = 6, kPerThread = 60;
  auto users = MakeUsers(kThreads);
  std::vector<ConvId> convs;
  for (int c = 0; c < 3; ++c) {
    auto g = core().conversations().CreateGroup(users[c], test::Cat("g", c), users);
    ASSERT_TRUE(g.ok());
    convs.push_back(g->id);
  }
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        ConvId conv = convs[(t + i) % convs.size()];
        Send(Id(users[t]), conv);
        if (i % 10 == 0) {
          EXPECT_TRUE(core().messages().MarkReadSync(Id(users[t]), conv, 1000).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  size_t total = 0;
  for (ConvId conv : convs) {
    const Seq head = Head(conv);
    ExpectGapless(AllMessages(conv), head);
    total += head;
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kPerThread));
  for (UserId u : users) {
    auto inbox = Inbox(u);
    for (size_t i = 0; i < inbox.size(); ++i) ASSERT_EQ(inbox[i].user_seq, i + 1) << "user " << u;
    size_t messages = 0;
    uint64_t last_gseq = 0;
    for (const auto& e : inbox) {
      if (e.type != EventType::kMessage) continue;
      ++messages;
      EXPECT_GT(e.gseq, last_gseq);
      last_gseq = e.gseq;
    }
    EXPECT_EQ(messages, total);
  }
}

// Follows a commit feed and keeps every notice it delivers.
class NoticeRecorder {
 public:
  NoticeRecorder()
      : subscription(feed.Subscribe("recorder", [this](const CommitFeed::Notice& notice) {
          std::lock_guard<std::mutex> lock(mu);
          notices.push_back(*notice);
        })) {}
  CommitFeed feed;
  std::mutex mu;
  std::vector<CommitNotice> notices;
  CommitFeed::Subscription subscription;
};

TEST_P(SequencerTest, FeedHearsEveryEventInCommitOrder) {
  NoticeRecorder recorder;
  feed_ = &recorder.feed;
  config_.read_fanout_threshold = 3;
  auto users = MakeUsers(5);
  auto big = core().conversations().CreateGroup(users[0], "big", {users[1], users[2], users[3]});
  ASSERT_TRUE(big.ok());
  ASSERT_TRUE(big->read_fanout);
  auto direct = core().conversations().OpenDirect(users[0], users[4]);
  ASSERT_TRUE(direct.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        Send(Id(users[t]), t == 0 && i % 2 ? direct->id : big->id);
      }
    });
  }
  for (auto& th : threads) th.join();
  Close();               // no more commits
  recorder.feed.Stop();  // every notice delivered: the recorder has heard everything

  std::map<UserId, std::vector<InboxEvent>> heard;
  uint64_t last_committed = 0;
  size_t moves = 0;
  Seq last_big_seq = 0;
  for (const auto& n : recorder.notices) {
    EXPECT_GE(n.committed_gseq, last_committed);
    last_committed = n.committed_gseq;
    for (const auto& e : n.events) heard[e.user_id].push_back(e);
    for (const auto& m : n.head_moves) {
      ++moves;
      EXPECT_EQ(m.conv_id, big->id);
      EXPECT_GT(m.last_seq, last_big_seq);
      last_big_seq = m.last_seq;
      ASSERT_NE(m.members, nullptr);
      EXPECT_EQ(m.members->size(), 4u);
    }
  }
  EXPECT_EQ(moves, 175u);  // every message to the read-fan-out group, in order
  EXPECT_EQ(last_big_seq, 175u);
  feed_ = nullptr;
  core();
  for (UserId u : users) {
    auto inbox = Inbox(u);
    ASSERT_EQ(heard[u].size(), inbox.size()) << "user " << u;
    for (size_t i = 0; i < inbox.size(); ++i) {
      EXPECT_EQ(heard[u][i].user_seq, inbox[i].user_seq);
      EXPECT_EQ(heard[u][i].type, inbox[i].type);
      EXPECT_EQ(heard[u][i].gseq, inbox[i].gseq);
    }
  }
}

TEST_P(SequencerTest, FeedMemberListFollowsMembershipChanges) {
  NoticeRecorder recorder;
  feed_ = &recorder.feed;
  config_.read_fanout_threshold = 2;
  auto users = MakeUsers(5);
  auto g = core().conversations().CreateGroup(users[0], "g", {users[1], users[2]});
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->read_fanout);
  auto moved_to = [&]() -> std::set<UserId> {
    recorder.feed.Flush();  // the notices of every acked request
    std::lock_guard<std::mutex> lock(recorder.mu);
    for (auto n = recorder.notices.rbegin(); n != recorder.notices.rend(); ++n) {
      if (!n->head_moves.empty()) {
        return std::set<UserId>(n->head_moves.back().members->begin(),
                                n->head_moves.back().members->end());
      }
    }
    return {};
  };
  Send(Id(users[1]), g->id);
  EXPECT_EQ(moved_to(), (std::set<UserId>{users[0], users[1], users[2]}));
  // One member out, another in: the same number of members, but not the same ones.
  ASSERT_TRUE(core().conversations().RemoveMember(users[0], g->id, users[2]).ok());
  ASSERT_TRUE(core().conversations().AddMembers(users[0], g->id, {users[3]}).ok());
  Send(Id(users[1]), g->id);
  EXPECT_EQ(moved_to(), (std::set<UserId>{users[0], users[1], users[3]}));
  ASSERT_TRUE(core().conversations().Leave(users[1], g->id).ok());
  ASSERT_TRUE(core().conversations().AddMembers(users[0], g->id, {users[4]}).ok());
  Send(Id(users[0]), g->id);
  EXPECT_EQ(moved_to(), (std::set<UserId>{users[0], users[3], users[4]}));
  Close();
  feed_ = nullptr;
}

// The committer publishes and moves on: a subscriber stuck in its callback delays pushes,
// never acks (the hub used to encode pushes on the committer thread, before the acks).
TEST_P(SequencerTest, AcksDoNotWaitForTheFeedsSubscribers) {
  CommitFeed feed;
  feed_ = &feed;
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int heard = 0;
  auto stuck = feed.Subscribe("stuck", [&](const CommitFeed::Notice&) {
    std::unique_lock<std::mutex> lock(mu);
    ++heard;
    cv.wait(lock, [&] { return open; });
  });
  // However the test ends (a failed ASSERT returns early), the subscriber is let go before
  // `stuck` unsubscribes, which waits for it.
  struct Release {
    std::mutex& mu;
    std::condition_variable& cv;
    bool& open;
    ~Release() {
      {
        std::lock_guard<std::mutex> lock(mu);
        open = true;
      }
      cv.notify_all();
    }
  } release{mu, cv, open};
  auto users = MakeUsers(2);  // the first commits: the subscriber is now stuck in one
  auto conv = core().conversations().OpenDirect(users[0], users[1]);
  ASSERT_TRUE(conv.ok());
  auto sent = std::async(std::launch::async, [&] { return SendMany(Id(users[0]), conv->id, 20); });
  EXPECT_EQ(sent.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(heard, 1);
    open = true;
  }
  cv.notify_all();
  EXPECT_EQ(sent.get().size(), 20u);
  Close();
  feed.Stop();
  feed_ = nullptr;
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(SequencerTest);

}  // namespace
}  // namespace parley
