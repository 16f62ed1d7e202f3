#include "tests/support/users.h"

#include <gtest/gtest.h>

#include "service/await.h"
#include "tests/support/waiting.h"

namespace parley::test {
namespace {

constexpr char kPlaceholderHash[] = "$argon2id$test";

// Stages one user; `name` empty: "<prefix><id>".
UserId StageUser(CommitBatch& b, std::string name, const std::string& prefix) {
  UserRecord u;
  u.id = b.NextUserId();
  u.name = name.empty() ? Cat(prefix, u.id) : std::move(name);
  u.password_hash = kPlaceholderHash;
  u.created_ms = b.now_ms();
  b.AddPendingName(u.name);
  b.writes().Add(op::PutUser{u});
  return u.id;
}

// Runs `stage` (which stages the users and returns their ids) as one sequencer task.
template <typename Stage>
Result<std::vector<UserId>> Submit(Core& core, Stage stage) {
  return Await<std::vector<UserId>>([&](Callback<std::vector<UserId>> cb) {
    core.sequencer().SubmitFor<std::vector<UserId>>(
        [stage](CommitBatch& b, std::vector<UserId>& out) -> Status {
          out = stage(b);
          return Status::Ok();
        },
        std::move(cb));
  });
}

}  // namespace

Result<std::vector<UserId>> CreateUsers(Core& core, std::span<const std::string> names) {
  std::vector<std::string> copy(names.begin(), names.end());
  return Submit(core, [copy](CommitBatch& b) {
    std::vector<UserId> ids;
    for (const auto& name : copy) ids.push_back(StageUser(b, name, ""));
    return ids;
  });
}

Result<std::vector<UserId>> FindOrCreateUsers(Core& core, std::span<const std::string> names) {
  std::vector<UserId> ids(names.size(), 0);
  std::vector<std::string> missing;
  for (size_t i = 0; i < names.size(); ++i) {
    auto id = core.store().FindUserByName(names[i]);
    if (id.ok()) {
      ids[i] = *id;
    } else if (id.status().code() == Code::kNotFound) {
      missing.push_back(names[i]);
    } else {
      return id.status();
    }
  }
  if (missing.empty()) return ids;
  PARLEY_ASSIGN_OR_RETURN(auto made, CreateUsers(core, missing));
  for (size_t i = 0, m = 0; i < ids.size(); ++i) {
    if (ids[i] == 0) ids[i] = made[m++];
  }
  return ids;
}

std::vector<UserId> MakeUsers(Core& core, int n, const std::string& prefix) {
  auto made = Submit(core, [n, prefix](CommitBatch& b) {
    std::vector<UserId> ids;
    ids.reserve(n);
    for (int i = 0; i < n; ++i) ids.push_back(StageUser(b, "", prefix));
    return ids;
  });
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  if (!made.ok()) return {};
  return std::move(made).value();
}

}  // namespace parley::test
