#include "client/sha256_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace parley::client {

void Sha256Stream::Reset() {
  // sodium_init is idempotent and thread-safe. It only picks faster code paths: the hash
  // is correct without it, so a failure is not an error here.
  [[maybe_unused]] const int ready = sodium_init();
  crypto_hash_sha256_init(&state_);
}

void Sha256Stream::Update(std::string_view data) {
  crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(data.data()),
                            data.size());
}

std::string Sha256Stream::FinishHex() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state_, digest);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return hex;
}

Status HashFilePrefix(const std::string& path, uint64_t length, Sha256Stream& stream) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(Code::kIOError, "cannot open " + path + ": " + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  Status st;
  while (done < length) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - done));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      st = Status(Code::kIOError, "cannot read " + path + ": " +
                                      (n == 0 ? "shorter than expected" : std::strerror(errno)));
      break;
    }
    stream.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return st;
}

}  // namespace parley::client
