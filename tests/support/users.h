// Users for tests and test programs, written straight through the sequencer: no Argon2
// hash (the password hash is a placeholder nobody can log in with), so only the accounts
// tests pay for password hashing.
//
// Thread-safety: any thread but the sequencer's (they block on it).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "service/core.h"

namespace parley::test {

// Creates one user per name in one sequencer task; their ids, in the order of `names`.
// Fails as the commit does (kAlreadyExists is not checked: names must be new).
Result<std::vector<UserId>> CreateUsers(Core& core, std::span<const std::string> names);

// The ids of users `names`, creating in one commit those that do not exist yet (a program
// that runs again on the same data finds its users).
Result<std::vector<UserId>> FindOrCreateUsers(Core& core, std::span<const std::string> names);

// Creates `n` users named "<prefix><id>" in one sequencer task; their ids, ascending.
// Fails the current test (and returns none) on error.
std::vector<UserId> MakeUsers(Core& core, int n, const std::string& prefix = "u");

}  // namespace parley::test
