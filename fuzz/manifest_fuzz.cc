// A backup manifest as read back from a target anyone with write access to it could have
// forged (src/backup/backup.cc): parsed with bounded memory and checked field by field.
#include <cstdint>
#include <string>

#include "backup/backup.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The seeds (fuzz/corpus/manifest_fuzz) name themselves so; 2026-01-01T00:00:00Z.
  constexpr int64_t kNowMs = 1767225600000 + 86400000;
  auto m = parley::backup::ParseManifest(text, "20260101T000000000Z-00abcd", kNowMs);
  if (m.ok()) {
    FUZZ_CHECK(m->id == "20260101T000000000Z-00abcd");
    FUZZ_CHECK(m->kind == "full" || m->kind == "incremental");
    uint64_t total = 0;
    for (const auto& f : m->files) total += f.size;
    FUZZ_CHECK(total == m->bytes);
  } else {
    FUZZ_CHECK(m.status().code() == parley::Code::kCorruption);
  }
  return 0;
}
