// InviteService and the registration policy: single and multiple use, expiry, refunds
// when a registration fails, and persistence across a reopen.
#include "service/invites.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "tests/support/core_test.h"

namespace parley {
namespace {

using test::Cat;

constexpr char kPassword[] = "correct horse battery";

class InvitesTest : public test::OnEveryStore<test::CoreTest> {
 protected:
  InvitesTest() { config_.password_cost = PasswordCost::kMinimum; }
  InviteService& invites() { return core().invites(); }
  Result<UserRecord> Register(const std::string& name, const std::string& invite,
                              RegistrationPolicy policy = RegistrationPolicy::kInvite) {
    return RegisterUnderPolicy(core().accounts(), invites(), policy, name, kPassword, invite);
  }
};

TEST_P(InvitesTest, PolicyOpenInviteClosed) {
  EXPECT_TRUE(Register("open1", "", RegistrationPolicy::kOpen).ok());
  auto closed = Register("closed1", "", RegistrationPolicy::kClosed);
  EXPECT_EQ(closed.status().code(), Code::kPermissionDenied);
  auto none = Register("invite1", "");
  EXPECT_EQ(none.status().code(), Code::kPermissionDenied);
  auto bogus = Register("invite1", "inv_0123");
  EXPECT_EQ(bogus.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(core().accounts().FindUser("closed1").status().code(), Code::kNotFound);
  EXPECT_EQ(core().accounts().FindUser("invite1").status().code(), Code::kNotFound);
}

TEST_P(InvitesTest, SingleUseRegistersExactlyOneOfManyRacers) {
  auto invite = invites().Create(1, 0);
  ASSERT_TRUE(invite.ok()) << invite.status().ToString();
  // Only the digest is stored.
  auto stored = core().store().GetInvite(Digest(invite->token));
  ASSERT_TRUE(stored.ok());
  std::atomic<int> ok{0}, denied{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 8; ++i) {
    racers.emplace_back([&, i] {
      auto r = Register(Cat("racer", i), invite->token);
      if (r.ok()) ++ok;
      if (r.status().code() == Code::kPermissionDenied) ++denied;
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(denied.load(), 7);
  EXPECT_EQ(core().store().GetInvite(Digest(invite->token)).status().code(), Code::kNotFound);
}

TEST_P(InvitesTest, FailedRegistrationGivesTheUseBack) {
  ASSERT_TRUE(Register("taken", "", RegistrationPolicy::kOpen).ok());
  auto invite = invites().Create(1, 0);
  ASSERT_TRUE(invite.ok());
  EXPECT_EQ(Register("taken", invite->token).status().code(), Code::kAlreadyExists);
  auto bad = RegisterUnderPolicy(core().accounts(), invites(), RegistrationPolicy::kInvite,
                                 "shortpw", "x", invite->token);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Register("fresh", invite->token).ok());
  EXPECT_EQ(Register("fresh2", invite->token).status().code(), Code::kPermissionDenied);
}

TEST_P(InvitesTest, UsesExpiryAndRestart) {
  auto three = invites().Create(3, 0);
  ASSERT_TRUE(three.ok());
  auto expired = invites().Create(5, 1);  // 1 ms
  ASSERT_TRUE(expired.ok());
  EXPECT_TRUE(Register("mem1", three->token).ok());
  Reopen();
  EXPECT_TRUE(Register("mem2", three->token).ok());
  EXPECT_TRUE(Register("mem3", three->token).ok());
  EXPECT_EQ(Register("mem4", three->token).status().code(), Code::kPermissionDenied);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past a 1 ms expiry
  EXPECT_EQ(Register("exp1", expired->token).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(invites().Create(0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(invites().Create(1, -1).status().code(), Code::kInvalidArgument);
}

PARLEY_INSTANTIATE_FOR_EVERY_STORE(InvitesTest);

}  // namespace
}  // namespace parley
