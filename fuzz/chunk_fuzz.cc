// A backup chunk as read back from a target (src/backup/codec.cc): compressed, perhaps
// encrypted, perhaps forged or damaged. Open never returns more than it was told to
// allow; and whatever the input, Seal then Open gives it back (with and without a key).
#include <cstdint>
#include <optional>
#include <string_view>

#include "backup/codec.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using parley::backup::Key;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Key key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  constexpr uint64_t kMaxPlain = 1 << 20;
  for (const std::optional<Key>& k : {std::optional<Key>(), std::optional<Key>(key)}) {
    auto opened = parley::backup::Open(bytes, k, kMaxPlain);
    if (opened.ok()) FUZZ_CHECK(opened->size() <= kMaxPlain);
    const std::string sealed = parley::backup::Seal(bytes, k, 1);
    auto back = parley::backup::Open(sealed, k, size);
    FUZZ_CHECK(back.ok() && *back == bytes);
  }
  return 0;
}
