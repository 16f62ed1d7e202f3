// A commit hint from another node, read off Redis pub/sub (src/cluster/notice_codec.cc):
// Redis is shared infrastructure, so a hint is bytes from outside. One that decodes
// encodes back to bytes that decode to the same hint.
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/notice_codec.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::cluster;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto hint = DecodeHint(in);
  if (!hint.ok()) return 0;
  std::string once;
  EncodeHint(hint->origin_node, hint->notice, &once);
  auto again = DecodeHint(once);
  FUZZ_CHECK(again.ok() && again->origin_node == hint->origin_node);
  std::string twice;
  EncodeHint(again->origin_node, again->notice, &twice);
  FUZZ_CHECK(once == twice);
  return 0;
}
