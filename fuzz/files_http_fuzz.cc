// The headers of the attachment API (src/files/http_headers.cc): Range and Authorization
// come from clients; the declared content type and file name come from the uploader and
// go out in another user's download headers, so they must never carry a CR, LF or quote
// out of place (header injection) or turn a file into a page of the server.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "files/http_headers.h"
#include "fuzz/fuzz_check.h"

namespace {

bool HeaderSafe(std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::files;
  if (size < 9) return 0;
  uint64_t object_size = 0;
  std::memcpy(&object_size, data, sizeof(object_size));
  const bool inline_view = data[8] & 1;
  std::string_view rest(reinterpret_cast<const char*>(data) + 9, size - 9);
  // Fields separated by '\n': Range, Authorization, declared type, file name.
  std::string_view fields[4];
  for (auto& field : fields) {
    const size_t end = rest.find('\n');
    field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  bool unsatisfiable = false;
  if (auto span = ParseRange(fields[0], object_size, &unsatisfiable)) {
    FUZZ_CHECK(!unsatisfiable);
    FUZZ_CHECK(span->length > 0 && span->offset < object_size);
    FUZZ_CHECK(span->length <= object_size - span->offset);
  }
  const std::string token = BearerToken(fields[1]);
  FUZZ_CHECK(token.size() < fields[1].size() || token.empty());
  const std::string type = SafeContentType(fields[2]);
  FUZZ_CHECK(HeaderSafe(type) && type.find_first_of("\";, ") == std::string::npos);
  FUZZ_CHECK(!ShownInline(type) || type.starts_with("image/"));
  const std::string disposition = ContentDisposition(inline_view, fields[3]);
  FUZZ_CHECK(HeaderSafe(disposition));
  // Exactly the two quotes around the ASCII fallback name.
  FUZZ_CHECK(std::count(disposition.begin(), disposition.end(), '"') == 2);
  return 0;
}
