// Test fixture for the service tests: a Core over a RocksStore in a fresh temporary
// directory, with helpers to create users, send messages and read timelines quickly.
//
// Users made with MakeUsers() are written straight through the sequencer (no Argon2 hash),
// so only the accounts tests pay for password hashing.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "service/await.h"
#include "service/core.h"
#include "store/rocks_store.h"

namespace parley {

// Lets gtest print status codes by name.
inline void PrintTo(Code code, std::ostream* os) { *os << CodeName(code); }

namespace test {

// A fresh directory under /tmp, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Collects the results of asynchronous calls: Slot(i) is the callback for call i. Call
// Wait() before the collector goes away; it aborts the test binary on timeout, since late
// callbacks would write into freed memory.
template <typename T>
class Results {
 public:
  explicit Results(size_t n) : results_(n) {}

  Callback<T> Slot(size_t i) {
    return [this, i](Result<T> r) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[i].emplace(std::move(r));
      ++done_;
      cv_.notify_all();
    };
  }
  // Waits until every slot has its result.
  void Wait(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return done_ == results_.size(); })) {
      std::fprintf(stderr, "asynchronous calls did not complete\n");
      std::abort();
    }
  }
  size_t done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  const Result<T>& operator[](size_t i) const { return *results_[i]; }
  size_t size() const { return results_.size(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<Result<T>>> results_;
  size_t done_ = 0;
};

// A one-shot signal between threads, with bounded waits.
class Signal {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Concatenates the arguments' stream output ("c", 12 -> "c12"). Avoids `"x" +
// std::to_string(n)`, which trips a GCC 12 -Wrestrict false positive at -O3.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// A Store that forwards every call to another. Tests derive from it to observe, delay or
// break single calls.
class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Result<UserRecord> GetUser(UserId id) override { return inner_->GetUser(id); }
  Result<UserId> FindUserByName(std::string_view n) override { return inner_->FindUserByName(n); }
  Result<DeviceRecord> FindDeviceByToken(std::string_view d) override {
    return inner_->FindDeviceByToken(d);
  }
  Result<std::vector<DeviceRecord>> ListDevices(UserId u) override {
    return inner_->ListDevices(u);
  }
  Result<ConversationRecord> GetConversation(ConvId id) override {
    return inner_->GetConversation(id);
  }
  Result<ConvHead> GetConvHead(ConvId id) override { return inner_->GetConvHead(id); }
  Result<ConvId> FindDirect(UserId a, UserId b) override { return inner_->FindDirect(a, b); }
  Result<std::vector<MemberRecord>> ListMembers(ConvId id) override {
    return inner_->ListMembers(id);
  }
  Result<MemberRecord> GetMember(ConvId id, UserId u) override { return inner_->GetMember(id, u); }
  Result<std::vector<MemberRecord>> ListUserConversations(UserId u) override {
    return inner_->ListUserConversations(u);
  }
  Result<MessageRecord> GetMessage(ConvId c, Seq s) override { return inner_->GetMessage(c, s); }
  std::vector<Result<MessageRecord>> GetMessages(std::span<const MessageKey> keys) override {
    return inner_->GetMessages(keys);
  }
  Result<std::vector<MessageRecord>> ScanMessages(ConvId c, Seq from, bool forward,
                                                  size_t limit) override {
    return inner_->ScanMessages(c, from, forward, limit);
  }
  Result<std::vector<InboxEvent>> ScanInbox(UserId u, Seq after, size_t limit) override {
    return inner_->ScanInbox(u, after, limit);
  }
  Result<Seq> LastUserSeq(UserId u) override { return inner_->LastUserSeq(u); }
  Result<Seq> InboxFloor(UserId u) override { return inner_->InboxFloor(u); }
  Status TrimInbox(UserId u, Seq floor) override { return inner_->TrimInbox(u, floor); }
  Result<Seq> GetReadCursor(UserId u, ConvId c) override { return inner_->GetReadCursor(u, c); }
  Result<Seq> GetDeviceCursor(UserId u, std::string_view d) override {
    return inner_->GetDeviceCursor(u, d);
  }
  Result<DedupRecord> GetDedup(UserId s, std::string_view id, int64_t now) override {
    return inner_->GetDedup(s, id, now);
  }
  Result<std::vector<ChangeRecord>> ScanChanges(uint64_t after, size_t limit) override {
    return inner_->ScanChanges(after, limit);
  }
  Result<BlockRecord> GetBlock(UserId a, UserId b) override { return inner_->GetBlock(a, b); }
  Result<std::vector<BlockRecord>> ListBlocks(UserId a) override { return inner_->ListBlocks(a); }
  Result<Counters> LoadCounters() override { return inner_->LoadCounters(); }
  Status Apply(const WriteSet& writes, Durability d) override { return inner_->Apply(writes, d); }
  StoreStats Stats() override { return inner_->Stats(); }
  Result<InviteRecord> GetInvite(std::string_view d) override { return inner_->GetInvite(d); }
  Status PutInvite(const InviteRecord& i) override { return inner_->PutInvite(i); }
  Status DeleteInvite(std::string_view d) override { return inner_->DeleteInvite(d); }

 private:
  std::unique_ptr<Store> inner_;
};

// The identity of `user` on the device "dev".
Identity Id(UserId user, std::string device = "dev");

// Creates `n` users named "<prefix><id>" in one sequencer task; their ids, ascending.
std::vector<UserId> MakeUsers(Core& core, int n, const std::string& prefix = "u");

class CoreTest : public ::testing::Test {
 protected:
  CoreTest();
  void TearDown() override;

  // The core, opened with `config_` on first use: tweak config_ before calling it, and call
  // it once before starting threads that use it.
  Core& core();
  // Closes the core (committing everything queued) and opens it again on the same data.
  void Reopen();
  void Close();
  bool is_open() const { return core_ != nullptr; }

  std::vector<UserId> MakeUsers(int n) { return test::MakeUsers(core(), n); }

  // Waits until everything submitted to the sequencer so far is committed (batches
  // commit in submission order).
  void Flush();

  // A client_msg_id not used before in this test.
  std::string NextClientId();
  // Sends a text message with a fresh client_msg_id; fails the test on error.
  SendAck Send(const Identity& who, ConvId conv, const std::string& body = "hello");
  Result<SendAck> TrySend(const Identity& who, ConvId conv, const std::string& body = "hello");
  // Sends `n` messages asynchronously (many in flight) and waits for every ack. The acks are
  // in completion order; fails the test on any error.
  std::vector<SendAck> SendMany(const Identity& who, ConvId conv, int n);

  // The conversation's stored messages 1..head, read straight from the store.
  std::vector<MessageRecord> AllMessages(ConvId conv);
  // Every inbox event of `user`, from the store.
  std::vector<InboxEvent> Inbox(UserId user);
  Seq Head(ConvId conv);
  Seq LastUserSeq(UserId user);
  // Pulls everything through Sync pages of `limit`, from `since`.
  std::vector<SyncItem> SyncAll(const Identity& who, Seq since = 0, size_t limit = 0);

  ServiceConfig config_;
  CommitFeed* feed_ = nullptr;  // passed to Core::Open; must outlive the core
  // If set, wraps the store before the core is opened on it (a ForwardingStore, say).
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_store_;
  TempDir dir_;

 private:
  std::unique_ptr<Core> core_;
  std::atomic<uint64_t> next_client_id_{0};
};

}  // namespace test
}  // namespace parley
