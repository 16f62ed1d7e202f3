#include "client/random_id.h"

#include <cstdint>
#include <random>

namespace parley::client {

std::string NewClientMsgId() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(24, '0');
  uint64_t bits = rng();
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == 16) bits = rng();
    out[i] = kHex[bits & 15];
    bits >>= 4;
  }
  return out;
}

}  // namespace parley::client
