#include "tests/support/core_test.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "service/await.h"

namespace parley::test {

Identity Id(UserId user, std::string device) { return Identity{user, std::move(device)}; }

CoreTest::CoreTest() : dir_("parley-core-test-") { config_.durability = Durability::kBuffered; }

void CoreTest::TearDown() { Close(); }

Core& CoreTest::core() {
  if (!core_) {
    auto store = store_kind_.open(dir_.path());
    if (!store.ok()) {
      std::fprintf(stderr, "open %s: %s\n", store_kind_.name.c_str(),
                   store.status().ToString().c_str());
      std::abort();
    }
    std::unique_ptr<Store> opened = std::move(store).value();
    if (wrap_store_) opened = wrap_store_(std::move(opened));
    auto core = Core::Open(std::move(opened), config_, feed_, timings_);
    if (!core.ok()) {
      std::fprintf(stderr, "open core: %s\n", core.status().ToString().c_str());
      std::abort();
    }
    core_ = std::move(core).value();
  }
  return *core_;
}

void CoreTest::Close() {
  if (core_) core_->Shutdown();
  core_.reset();
}

void CoreTest::Reopen() {
  Close();
  core();
}

void CoreTest::Flush() {
  auto r = Await<bool>([&](Callback<bool> cb) {
    core().sequencer().SubmitFor<bool>([](CommitBatch&, bool&) { return Status::Ok(); },
                                       std::move(cb));
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

std::string CoreTest::NextClientId() { return Cat("c", ++next_client_id_); }

Result<SendAck> CoreTest::TrySend(const Identity& who, ConvId conv, const std::string& body) {
  SendRequest req;
  req.conv_id = conv;
  req.client_msg_id = NextClientId();
  req.body = body;
  return core().messages().SendSync(who, std::move(req));
}

SendAck CoreTest::Send(const Identity& who, ConvId conv, const std::string& body) {
  auto r = TrySend(who, conv, body);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : SendAck{};
}

std::vector<SendAck> CoreTest::SendMany(const Identity& who, ConvId conv, int n) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<SendAck> acks;
  int pending = n;
  int errors = 0;
  for (int i = 0; i < n; ++i) {
    SendRequest req;
    req.conv_id = conv;
    req.client_msg_id = NextClientId();
    req.body = Cat("message ", i);
    core().messages().Send(who, std::move(req), [&](Result<SendAck> r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.ok()) {
        acks.push_back(*r);
      } else {
        ++errors;
      }
      if (--pending == 0) cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  bool done = cv.wait_for(lock, std::chrono::seconds(120), [&] { return pending == 0; });
  if (!done) {
    ADD_FAILURE() << "sends did not complete";
    std::abort();  // callbacks still reference this frame
  }
  EXPECT_EQ(errors, 0);
  return acks;
}

std::vector<MessageRecord> CoreTest::AllMessages(ConvId conv) {
  auto r = core().store().ScanMessages(conv, 1, true, SIZE_MAX);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : std::vector<MessageRecord>{};
}

std::vector<InboxEvent> CoreTest::Inbox(UserId user) {
  auto r = core().store().ScanInbox(user, 0, SIZE_MAX);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : std::vector<InboxEvent>{};
}

Seq CoreTest::Head(ConvId conv) {
  auto r = core().store().GetConvHead(conv);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->last_seq : 0;
}

Seq CoreTest::LastUserSeq(UserId user) {
  auto r = core().store().LastUserSeq(user);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : 0;
}

std::vector<SyncItem> CoreTest::SyncAll(const Identity& who, Seq since, size_t limit) {
  std::vector<SyncItem> out;
  for (int page = 0; page < 100000; ++page) {
    SyncRequest req;
    req.since = since;
    req.limit = limit;
    auto r = core().timeline().Sync(who, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    EXPECT_FALSE(r->reset);
    for (auto& item : r->items) out.push_back(std::move(item));
    if (!r->has_more) break;
    EXPECT_GT(r->next, since);
    if (r->next <= since) break;
    since = r->next;
  }
  return out;
}

void DirectConvTest::SetUpDirect() {
  auto users = MakeUsers(3);
  ASSERT_EQ(users.size(), 3u);
  a_ = users[0];
  b_ = users[1];
  outsider_ = users[2];
  auto conv = core().conversations().OpenDirect(a_, b_);
  ASSERT_TRUE(conv.ok()) << conv.status().ToString();
  conv_ = conv->id;
}

}  // namespace parley::test
