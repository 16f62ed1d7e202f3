#include "backup/codec.h"

#include <sodium.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/files.h"

namespace parley::backup {
namespace {

constexpr char kMagic[4] = {'P', 'L', 'Y', 'B'};
constexpr uint8_t kVersion = 1;
constexpr size_t kHeader = 4 + 1 + 1 + 8;
constexpr size_t kChecksum = 32;
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

Status Corrupt(const std::string& why) { return Status(Code::kCorruption, "backup data: " + why); }

}  // namespace

Result<Key> LoadKey(const std::string& path) {
  PARLEY_RETURN_IF_ERROR(CheckSecretFile(path, "backup key file"));
  std::ifstream in(path);
  if (!in) return Status(Code::kNotFound, "cannot read key file " + path);
  std::string hex(80, '\0');  // 64 digits and some whitespace; more is not a key file
  in.read(hex.data(), static_cast<std::streamsize>(hex.size()));
  hex.resize(static_cast<size_t>(in.gcount()));
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) {
    hex.pop_back();
  }
  Key key;
  size_t len = 0;
  if (hex.size() != 64 ||
      sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != key.size()) {
    return Status(Code::kInvalidArgument, "key file " + path + " must hold 64 hex digits");
  }
  return key;
}

size_t MaxBlobBytes(uint64_t max_plain) {
  return kHeader + std::max(kChecksum, kNonce + kTag) + ZSTD_compressBound(max_plain);
}

std::string NewKeyHex() {
  Key key;
  randombytes_buf(key.data(), key.size());
  std::string hex(65, '\0');
  sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
  hex.pop_back();
  sodium_memzero(key.data(), key.size());
  return hex;
}

std::string ContentId(std::string_view plain, const std::optional<Key>& key) {
  unsigned char digest[32];
  crypto_generichash(digest, sizeof(digest), reinterpret_cast<const unsigned char*>(plain.data()),
                     plain.size(), key ? key->data() : nullptr, key ? key->size() : 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return hex;
}

std::string Seal(std::string_view plain, const std::optional<Key>& key, int zstd_level) {
  std::string compressed(ZSTD_compressBound(plain.size()), '\0');
  size_t n =
      ZSTD_compress(compressed.data(), compressed.size(), plain.data(), plain.size(), zstd_level);
  compressed.resize(ZSTD_isError(n) ? 0 : n);  // cannot fail with a bound-sized buffer
  std::string out(kMagic, sizeof(kMagic));
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(key ? 1 : 0));
  const uint64_t plain_len = plain.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(plain_len >> (8 * i)));
  if (!key) {
    unsigned char sum[kChecksum];
    crypto_generichash(sum, sizeof(sum), reinterpret_cast<const unsigned char*>(compressed.data()),
                       compressed.size(), nullptr, 0);
    out.append(reinterpret_cast<const char*>(sum), sizeof(sum));
    out += compressed;
    return out;
  }
  unsigned char nonce[kNonce];
  randombytes_buf(nonce, sizeof(nonce));
  out.append(reinterpret_cast<const char*>(nonce), sizeof(nonce));
  const size_t at = out.size();
  out.resize(at + compressed.size() + kTag);
  unsigned long long sealed_len = 0;
  // The header is authenticated too: a blob cannot be relabelled.
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(out.data() + at), &sealed_len,
      reinterpret_cast<const unsigned char*>(compressed.data()), compressed.size(),
      reinterpret_cast<const unsigned char*>(out.data()), kHeader, nullptr, nonce, key->data());
  out.resize(at + sealed_len);
  return out;
}

Result<std::string> Open(std::string_view blob, const std::optional<Key>& key, uint64_t max_plain) {
  if (blob.size() < kHeader || std::memcmp(blob.data(), kMagic, sizeof(kMagic)) != 0) {
    return Corrupt("not a Parley backup blob, or truncated");
  }
  if (static_cast<uint8_t>(blob[4]) != kVersion) return Corrupt("unknown blob version");
  const uint8_t mode = static_cast<uint8_t>(blob[5]);
  uint64_t plain_len = 0;
  for (int i = 0; i < 8; ++i) plain_len |= uint64_t{static_cast<uint8_t>(blob[6 + i])} << (8 * i);
  if (plain_len > max_plain) {
    return Corrupt("declares " + std::to_string(plain_len) + " bytes, over the limit of " +
                   std::to_string(max_plain));
  }
  std::string compressed;
  if (mode == 0 && key) {
    // Anyone can write a plain blob with a matching checksum: with a key, only sealed
    // (authenticated) blobs are backups of ours.
    return Status(Code::kUnauthenticated,
                  "backup data is not encrypted, but a key is configured: refused (forged, or "
                  "from a backup made without the key)");
  }
  if (mode == 0) {
    if (blob.size() < kHeader + kChecksum) return Corrupt("truncated");
    std::string_view body = blob.substr(kHeader + kChecksum);
    unsigned char sum[kChecksum];
    crypto_generichash(sum, sizeof(sum), reinterpret_cast<const unsigned char*>(body.data()),
                       body.size(), nullptr, 0);
    if (sodium_memcmp(sum, blob.data() + kHeader, kChecksum) != 0) {
      return Corrupt("checksum mismatch (damaged or truncated)");
    }
    compressed = std::string(body);
  } else if (mode == 1) {
    if (!key) {
      return Status(Code::kUnauthenticated, "backup is encrypted: give the key (--key FILE)");
    }
    if (blob.size() < kHeader + kNonce + kTag) return Corrupt("truncated");
    const auto* nonce = reinterpret_cast<const unsigned char*>(blob.data() + kHeader);
    std::string_view sealed = blob.substr(kHeader + kNonce);
    compressed.resize(sealed.size() - kTag);
    unsigned long long len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(compressed.data()), &len, nullptr,
            reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
            reinterpret_cast<const unsigned char*>(blob.data()), kHeader, nonce,
            key->data()) != 0) {
      return Status(Code::kUnauthenticated,
                    "backup data does not decrypt: wrong key, or damaged or truncated");
    }
    compressed.resize(len);
  } else {
    return Corrupt("unknown blob mode");
  }
  // The frame's own size field must agree before the plain buffer is allocated.
  const unsigned long long frame_len =
      ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (frame_len != plain_len) return Corrupt("does not decompress");
  std::string plain(plain_len, '\0');
  size_t n = ZSTD_decompress(plain.data(), plain.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != plain_len) return Corrupt("does not decompress");
  return plain;
}

}  // namespace parley::backup
