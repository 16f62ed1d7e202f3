// Fixtures for tests of the service layer: a Core over a store in a fresh temporary
// directory, with helpers to create users, send messages and read timelines quickly.
//
// - CoreTest: the fixture, on the default store (for TEST_F).
// - OnEveryStore<Fixture>: the same fixture run once per registered store (for TEST_P,
//   with PARLEY_INSTANTIATE_FOR_EVERY_STORE(Suite) after the tests).
// - DirectConvTest: CoreTest plus two users with a direct conversation and an outsider.
//
// Users made with MakeUsers() are written straight through the sequencer (no Argon2 hash),
// so only the accounts tests pay for password hashing.
//
// Thread-safety: the fixture's methods run on the test thread; core() must be called
// once before threads that use the core are started.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "service/core.h"
#include "tests/support/forwarding_store.h"
#include "tests/support/store_kinds.h"
#include "tests/support/temp_dir.h"
#include "tests/support/users.h"
#include "tests/support/waiting.h"

namespace parley {

// Lets gtest print status codes by name.
inline void PrintTo(Code code, std::ostream* os) { *os << CodeName(code); }

namespace test {

// The identity of `user` on the device "dev".
Identity Id(UserId user, std::string device = "dev");

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

  // Opens the core on its store wrapped in a new `Wrapper` (a ForwardingStore constructed
  // from the store: fault injection); the wrapper, owned by the core and valid until it
  // closes. A Reopen() wraps the store again, in another Wrapper.
  template <typename Wrapper>
  Wrapper& OpenWrapped() {
    auto made = std::make_shared<Wrapper*>(nullptr);
    wrap_store_ = [made](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
      auto wrapper = std::make_unique<Wrapper>(std::move(inner));
      *made = wrapper.get();
      return wrapper;
    };
    Close();
    core();
    return **made;
  }

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

  // Which store the core opens (on dir_): the default one, or the parameter of
  // OnEveryStore. Set before the first core().
  StoreKind store_kind_ = DefaultStoreKind();
  ServiceConfig config_;
  CommitFeed* feed_ = nullptr;  // passed to Core::Open; must outlive the core
  SequencerTimings timings_;    // passed to Core::Open; its histograms must outlive the core
  // If set, wraps the store before the core is opened on it (a ForwardingStore, say).
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_store_;
  TempDir dir_;

 private:
  std::unique_ptr<Core> core_;
  std::atomic<uint64_t> next_client_id_{0};
};

// `Fixture` (a CoreTest) on the store given as the test parameter.
template <typename Fixture>
class OnEveryStore : public Fixture, public ::testing::WithParamInterface<StoreKind> {
 protected:
  OnEveryStore() { this->store_kind_ = this->GetParam(); }
};

// Two users, a_ and b_, with a direct conversation conv_, and a third user outside it.
class DirectConvTest : public CoreTest {
 protected:
  // Creates them; call at the start of the test (ASSERT_NO_FATAL_FAILURE if it matters).
  void SetUpDirect();

  UserId a_ = 0, b_ = 0, outsider_ = 0;
  ConvId conv_ = 0;
};

}  // namespace test
}  // namespace parley
