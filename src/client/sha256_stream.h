// Sha256Stream: SHA-256 of bytes that arrive in pieces (libsodium), for the checksums of
// attachment transfers; and the hash of a file read in bounded chunks, never whole.
//
// Thread-safety: Sha256Stream has one owner; Sha256OfFile is a free function.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace parley::client {

class Sha256Stream {
 public:
  Sha256Stream() { Reset(); }
  void Reset();
  void Update(std::string_view data);
  // The digest as 64 lower-case hex digits; the stream must be Reset before reuse.
  std::string FinishHex();

 private:
  crypto_hash_sha256_state state_;
};

// Hashes the first `length` bytes of the file `path` into `stream` (reads 1 MiB at a time).
// kIOError naming the file if it cannot be read or is shorter.
Status HashFilePrefix(const std::string& path, uint64_t length, Sha256Stream& stream);

}  // namespace parley::client
