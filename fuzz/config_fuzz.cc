// The TOML config file (src/server/config_file.cc): a file an operator writes, but also
// one a deployment tool generates. A bad one is an error naming where; it never crashes,
// and a refused file changes nothing.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  parley::ServerConfig config;
  const int64_t idle_before = config.gateway.idle_timeout_ms;
  const parley::Status status = parley::LoadConfigText(text, "fuzz.toml", &config);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == parley::Code::kInvalidArgument);
    FUZZ_CHECK(config.gateway.idle_timeout_ms == idle_before);  // unchanged
  }
  return 0;
}
