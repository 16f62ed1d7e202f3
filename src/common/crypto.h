// Cryptographic helpers over libsodium: password hashing (Argon2id), random tokens and
// token digests. Call InitCrypto() once at start-up before any other function here.
//
// Thread-safety: all functions are thread-safe. HashPassword/VerifyPassword cost about
// 100 ms of CPU by design: never call them on a network or sequencer thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace parley {

// Initialises libsodium. Returns an error if the library cannot start.
Status InitCrypto();

// How much work a password hash costs. kMinimum is for tests and benchmarks ONLY: it
// makes stolen hashes cheap to crack. The parameters live in the hash string, so hashes
// of either cost verify the same way.
enum class PasswordCost { kInteractive, kMinimum };

// Argon2id hash in libsodium's self-describing string format ("$argon2id$v=19$...").
Result<std::string> HashPassword(std::string_view password,
                                 PasswordCost cost = PasswordCost::kInteractive);
bool VerifyPassword(std::string_view hash, std::string_view password);

// `bytes` random bytes rendered as lower-case hex (2*bytes characters).
std::string RandomHex(size_t bytes);

// 32-byte BLAKE2b digest of `data`, raw bytes. Tokens are stored only as this digest.
std::string Digest(std::string_view data);

}  // namespace parley
