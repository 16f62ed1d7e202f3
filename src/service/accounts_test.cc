// AccountService: registration rules, login tokens per device, logout and revocation.
// Every Register/Login costs an Argon2id computation (~100 ms), so this file keeps to one
// hash and a handful of verifications; further users reuse the hash via RegisterWithHash.
#include "service/accounts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>

#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Cat;

constexpr char kPassword[] = "correct horse battery";

class AccountsTest : public test::OnEveryStore<test::CoreTest> {
 protected:
  AccountService& accounts() { return core().accounts(); }
};

TEST_P(AccountsTest, RegistrationRules) {
  auto alice = accounts().Register("Alice", kPassword);  // the only hash computed here
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->name, "alice");
  EXPECT_GT(alice->id, 0u);
  EXPECT_EQ(alice->password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(alice->password_hash.find(kPassword), std::string::npos);
  auto stored = accounts().GetUser(alice->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->name, "alice");
  EXPECT_EQ(stored->password_hash, alice->password_hash);

  // Names are unique regardless of case.
  for (const char* taken : {"alice", "ALICE", "aLiCe"}) {
    EXPECT_EQ(accounts().Register(taken, kPassword).status().code(), Code::kAlreadyExists) << taken;
    EXPECT_EQ(accounts().RegisterWithHash(taken, alice->password_hash).status().code(),
              Code::kAlreadyExists)
        << taken;
  }
  // 3-32 characters of [a-z0-9_.-], starting with a letter.
  for (const std::string& bad :
       std::vector<std::string>{"", "ab", "1abc", "_abc", ".abc", "a b", "ab\xc3\xa9", "ab/c",
                                "abc@d", std::string(33, 'a')}) {
    EXPECT_EQ(accounts().Register(bad, kPassword).status().code(), Code::kInvalidArgument)
        << "'" << bad << "'";
    EXPECT_EQ(accounts().RegisterWithHash(bad, alice->password_hash).status().code(),
              Code::kInvalidArgument);
  }
  // Passwords: 8 to 1024 bytes.
  EXPECT_EQ(accounts().Register("shorty", "1234567").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(accounts().Register("longy", std::string(1025, 'p')).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(accounts().RegisterWithHash("plain", "not-a-hash").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(accounts().FindUser("shorty").status().code(), Code::kNotFound);

  for (const std::string& good :
       std::vector<std::string>{"bob", "Bob.Smith-2", "z_z", std::string(32, 'q')}) {
    auto r = accounts().RegisterWithHash(good, alice->password_hash);
    ASSERT_TRUE(r.ok()) << good << ": " << r.status().ToString();
    auto found = accounts().FindUser(good);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->id, r->id);
  }
  EXPECT_EQ(accounts().FindUser("BOB.SMITH-2")->name, "bob.smith-2");
  EXPECT_EQ(accounts().FindUser("nobody").status().code(), Code::kNotFound);
  EXPECT_EQ(accounts().FindUser("no").status().code(), Code::kNotFound);
  EXPECT_EQ(accounts().GetUser(999).status().code(), Code::kNotFound);
}

TEST_P(AccountsTest, ConcurrentRegistrationOfOneNameHasOneWinner) {
  const std::string hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
  constexpr int kThreads = 8;
  AccountService& acc = accounts();  // opens the core before the threads start
  for (int round = 0; round < 3; ++round) {
    const std::string name = Cat("racer", round);
    std::vector<Result<UserRecord>> results(kThreads, Status(Code::kInternal, "not run"));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        results[t] = acc.RegisterWithHash(t % 2 ? name : Cat("RACER", round), hash);
      });
    }
    for (auto& th : threads) th.join();
    int winners = 0;
    for (const auto& r : results) {
      if (r.ok()) {
        ++winners;
      } else {
        EXPECT_EQ(r.status().code(), Code::kAlreadyExists);
      }
    }
    EXPECT_EQ(winners, 1) << name;
  }
  EXPECT_EQ(core().store().LoadCounters()->last_user_id, 3u);
}

TEST_P(AccountsTest, LoginTokensDevicesLogoutAndRevocation) {
  auto alice = accounts().Register("alice", kPassword);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  const UserId id = alice->id;

  // Refusals that need no hash.
  EXPECT_EQ(accounts().Login("nobody", kPassword, "phone").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(accounts().Login("alice", kPassword, "has space").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(accounts().Login("alice", kPassword, std::string(65, 'd')).status().code(),
            Code::kInvalidArgument);
  // A wrong password (one verification).
  EXPECT_EQ(accounts().Login("alice", "wrong password", "phone").status().code(),
            Code::kUnauthenticated);
  auto devices = core().store().ListDevices(id);
  ASSERT_TRUE(devices.ok());
  EXPECT_TRUE(devices->empty());

  auto phone = accounts().Login("ALICE", kPassword, "phone");
  ASSERT_TRUE(phone.ok()) << phone.status().ToString();
  EXPECT_EQ(phone->user_id, id);
  EXPECT_EQ(phone->device_id, "phone");
  EXPECT_EQ(phone->token.size(), 64u);
  auto who = accounts().Authenticate(phone->token);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->user_id, id);
  EXPECT_EQ(who->device_id, "phone");
  // Only a digest is stored.
  devices = core().store().ListDevices(id);
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ(devices->at(0).token_digest.size(), 32u);
  EXPECT_NE(devices->at(0).token_digest, phone->token);

  // Logging in again on the same device replaces its token.
  auto phone2 = accounts().Login("alice", kPassword, "phone");
  ASSERT_TRUE(phone2.ok());
  EXPECT_NE(phone2->token, phone->token);
  EXPECT_EQ(accounts().Authenticate(phone->token).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(accounts().Authenticate(phone2->token).ok());
  EXPECT_EQ(core().store().ListDevices(id)->size(), 1u);

  // Without a device id, one is generated.
  auto other = accounts().Login("alice", kPassword, "");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->device_id.rfind("dev-", 0), 0u);
  EXPECT_EQ(core().store().ListDevices(id)->size(), 2u);
  auto other_who = accounts().Authenticate(other->token);
  ASSERT_TRUE(other_who.ok());
  EXPECT_EQ(other_who->device_id, other->device_id);

  // Bad tokens.
  EXPECT_EQ(accounts().Authenticate("").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(accounts().Authenticate(std::string(300, 'a')).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(accounts().Authenticate("0123456789abcdef").status().code(), Code::kUnauthenticated);

  // Tokens are durable.
  Reopen();
  ASSERT_TRUE(accounts().Authenticate(phone2->token).ok());

  // Logout revokes that device only.
  ASSERT_TRUE(accounts().Logout(*accounts().Authenticate(phone2->token)).ok());
  EXPECT_EQ(accounts().Authenticate(phone2->token).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(accounts().Authenticate(other->token).ok());
  ASSERT_TRUE(accounts().Logout(Identity{id, "phone"}).ok());  // already gone: fine

  // RevokeAll revokes the rest and says how many.
  auto revoked = accounts().RevokeAll(id);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, 1u);
  EXPECT_EQ(accounts().Authenticate(other->token).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(core().store().ListDevices(id)->empty());
  EXPECT_EQ(*accounts().RevokeAll(id), 0u);
}

// Makes concurrent ListDevices calls meet: while armed, the first caller waits (up to
// 500 ms) for a second one, so that two logins racing on one device both read the device
// list before either writes, if nothing serialises them.
class RendezvousStore : public test::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<bool> armed{false};

  Result<std::vector<DeviceRecord>> ListDevices(UserId u) override {
    if (armed) {
      std::unique_lock<std::mutex> lock(mu_);
      if (++arrived_ == 1) {
        cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return arrived_ >= 2; });
      } else {
        cv_.notify_all();
      }
    }
    return ForwardingStore::ListDevices(u);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
};

// Logins racing on one device id must leave one valid token, and a logout must revoke it.
// (Before AccountService serialised a user's device changes, both logins stored a token
// and the first one could never be revoked.)
TEST_P(AccountsTest, ConcurrentLoginsOnOneDeviceLeaveNoUnrevocableToken) {
  RendezvousStore* store = &OpenWrapped<RendezvousStore>();
  auto alice = accounts().Register("alice", kPassword);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  AccountService& acc = accounts();
  store->armed = true;
  constexpr int kThreads = 2;
  std::vector<Result<LoginResult>> logins(kThreads, Status(Code::kInternal, "not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { logins[t] = acc.Login("alice", kPassword, "phone"); });
  }
  for (auto& th : threads) th.join();
  store->armed = false;
  int valid = 0;
  for (const auto& l : logins) {
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    valid += acc.Authenticate(l->token).ok() ? 1 : 0;
  }
  EXPECT_EQ(valid, 1) << "one device id, one valid token";
  EXPECT_EQ(core().store().ListDevices(alice->id)->size(), 1u);
  ASSERT_TRUE(acc.Logout(Identity{alice->id, "phone"}).ok());
  for (const auto& l : logins) {
    EXPECT_EQ(acc.Authenticate(l->token).status().code(), Code::kUnauthenticated);
  }
  EXPECT_TRUE(core().store().ListDevices(alice->id)->empty());
}

// Tokens expire after token_ttl_ms without use; each use slides the expiry, and last-seen
// writes are throttled to TouchInterval() (ttl / 8 here).
TEST_P(AccountsTest, TokensExpireUnusedAndSlideOnUse) {
  config_.password_cost = PasswordCost::kMinimum;
  config_.token_ttl_ms = 8000;
  AccountService& acc = accounts();
  std::atomic<int64_t> now{1'000'000};
  acc.SetClockForTest([&] { return now.load(); });
  EXPECT_EQ(acc.TouchInterval(), 1000);
  ASSERT_TRUE(acc.Register("alice", kPassword).ok());
  auto phone = acc.Login("alice", kPassword, "phone");
  ASSERT_TRUE(phone.ok()) << phone.status().ToString();
  const Identity who{phone->user_id, "phone"};
  auto devices = acc.Devices(who.user_id);
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ(devices->at(0).created_ms, 1'000'000);
  EXPECT_EQ(devices->at(0).last_seen_ms, 1'000'000);

  // Within the interval: no write is due, and Touch writes nothing.
  now += 500;
  auto check = acc.CheckToken(phone->token);
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->expired);
  EXPECT_FALSE(check->touch_due);
  ASSERT_TRUE(acc.Touch(who).ok());
  EXPECT_EQ(acc.Devices(who.user_id)->at(0).last_seen_ms, 1'000'000);

  // Used every 6 s, it lives far past its 8 s lifetime.
  for (int i = 0; i < 4; ++i) {
    now += 6000;
    check = acc.CheckToken(phone->token);
    ASSERT_TRUE(check.ok());
    EXPECT_FALSE(check->expired) << i;
    EXPECT_TRUE(check->touch_due) << i;
    ASSERT_TRUE(acc.Touch(who).ok());
    EXPECT_EQ(acc.Devices(who.user_id)->at(0).last_seen_ms, now.load());
  }
  // Unused for longer than the lifetime: refused, and Touch deletes it.
  now += 8001;
  EXPECT_EQ(acc.Authenticate(phone->token).status().code(), Code::kUnauthenticated);
  check = acc.CheckToken(phone->token);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->expired);
  EXPECT_EQ(acc.Touch(who).code(), Code::kUnauthenticated);
  EXPECT_TRUE(acc.Devices(who.user_id)->empty());
  EXPECT_EQ(acc.CheckToken(phone->token).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc.Touch(who).code(), Code::kNotFound);
}

TEST_P(AccountsTest, NoLifetimeMeansTokensNeverExpire) {
  config_.password_cost = PasswordCost::kMinimum;
  config_.token_ttl_ms = 0;
  AccountService& acc = accounts();
  std::atomic<int64_t> now{1'000'000};
  acc.SetClockForTest([&] { return now.load(); });
  ASSERT_TRUE(acc.Register("alice", kPassword).ok());
  auto phone = acc.Login("alice", kPassword, "phone");
  ASSERT_TRUE(phone.ok());
  now += 10LL * 365 * 86400 * 1000;
  EXPECT_TRUE(acc.Authenticate(phone->token).ok());
  EXPECT_EQ(acc.TouchInterval(), 3600 * 1000);
}

TEST_P(AccountsTest, ChangePasswordRevokesEveryOtherDevice) {
  config_.password_cost = PasswordCost::kMinimum;
  AccountService& acc = accounts();
  ASSERT_TRUE(acc.Register("alice", kPassword).ok());
  auto phone = acc.Login("alice", kPassword, "phone");
  auto laptop = acc.Login("alice", kPassword, "laptop");
  auto tablet = acc.Login("alice", kPassword, "tablet");
  ASSERT_TRUE(phone.ok() && laptop.ok() && tablet.ok());
  const Identity who{phone->user_id, "phone"};
  const UserId id = who.user_id;
  const std::string old_hash = acc.GetUser(id)->password_hash;

  EXPECT_EQ(acc.ChangePassword(who, "wrong password", "new password 1").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(acc.ChangePassword(who, kPassword, "short").status().code(), Code::kInvalidArgument);
  // Refusals change nothing.
  EXPECT_EQ(acc.GetUser(id)->password_hash, old_hash);
  EXPECT_EQ(acc.Devices(id)->size(), 3u);

  auto revoked = acc.ChangePassword(who, kPassword, "new password 1");
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_EQ(*revoked, 2u);
  EXPECT_TRUE(acc.Authenticate(phone->token).ok());
  EXPECT_EQ(acc.Authenticate(laptop->token).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc.Authenticate(tablet->token).status().code(), Code::kUnauthenticated);
  ASSERT_EQ(acc.Devices(id)->size(), 1u);
  EXPECT_EQ(acc.Login("alice", kPassword, "laptop").status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(acc.Login("alice", "new password 1", "laptop").ok());
}

TEST_P(AccountsTest, RevokeOneDeviceOrAllOthers) {
  config_.password_cost = PasswordCost::kMinimum;
  AccountService& acc = accounts();
  ASSERT_TRUE(acc.Register("alice", kPassword).ok());
  auto phone = acc.Login("alice", kPassword, "phone");
  auto laptop = acc.Login("alice", kPassword, "laptop");
  auto tablet = acc.Login("alice", kPassword, "tablet");
  ASSERT_TRUE(phone.ok() && laptop.ok() && tablet.ok());
  const UserId id = phone->user_id;
  EXPECT_EQ(acc.RevokeDevice(id, "toaster").code(), Code::kNotFound);
  EXPECT_EQ(acc.RevokeDevice(id, "").code(), Code::kNotFound);
  ASSERT_TRUE(acc.RevokeDevice(id, "laptop").ok());
  EXPECT_EQ(acc.Authenticate(laptop->token).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc.RevokeDevice(id, "laptop").code(), Code::kNotFound);
  auto others = acc.RevokeOthers(id, "phone");
  ASSERT_TRUE(others.ok());
  EXPECT_EQ(*others, 1u);
  EXPECT_TRUE(acc.Authenticate(phone->token).ok());
  EXPECT_EQ(acc.Authenticate(tablet->token).status().code(), Code::kUnauthenticated);
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(AccountsTest);

}  // namespace
}  // namespace parley
