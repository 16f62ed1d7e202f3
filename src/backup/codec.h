// How every stored piece of a backup (file chunk or manifest) is written: zstd-compressed,
// then either sealed with an operator key (XChaCha20-Poly1305, libsodium) or, without a
// key, protected by a BLAKE2b checksum. Either way a flipped or missing byte is detected
// on read, never silently restored; a wrong key is reported as such.
//
//   magic "PLYB" | version 1 | mode (0 plain, 1 sealed) | plain length (u64 LE)
//   mode 0: checksum (32 bytes, BLAKE2b of the compressed bytes) | compressed bytes
//   mode 1: nonce (24 bytes) | ciphertext of the compressed bytes (+16-byte tag)
//
// Thread-safety: stateless.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace parley::backup {

using Key = std::array<uint8_t, 32>;

// A key file holds 64 hex digits (32 random bytes), e.g. from `parley admin backup keygen`.
// kPermissionDenied if the file is readable or writable by other users (or writable by
// its group): a key anyone on the machine can read protects nothing (common/files.h).
Result<Key> LoadKey(const std::string& path);

// Sizes of a blob: its header and protection around `plain_len` compressed bytes at most.
size_t MaxBlobBytes(uint64_t max_plain);
std::string NewKeyHex();

// Content address of `plain`: BLAKE2b-256, keyed with the backup key when there is one
// (so chunk names reveal nothing about contents to whoever holds only the backups).
std::string ContentId(std::string_view plain, const std::optional<Key>& key);

std::string Seal(std::string_view plain, const std::optional<Key>& key, int zstd_level = 3);

// kCorruption for a damaged or truncated blob, or one whose declared plain length exceeds
// `max_plain` (checked before anything is allocated: a forged 200-byte blob declaring
// 16 GiB costs nothing); kUnauthenticated for a sealed blob and a missing or wrong key
// (indistinguishable from tampering by design, and said so), and for a plain blob when a
// key is given.
Result<std::string> Open(std::string_view blob, const std::optional<Key>& key, uint64_t max_plain);

}  // namespace parley::backup
