// A request frame as a client sends it: the parser the gateway runs on every text frame,
// then the typed field accessors the ops read their arguments with.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "protocol/request.h"

namespace {

constexpr std::string_view kKeys[] = {
    "conv", "to",    "body",  "client_msg_id", "limit", "after",       "before", "seq",
    "user", "users", "text",  "cursor",        "name",  "password",    "token",  "device",
    "kind", "since", "until", "members",       "role",  "attachments", "id",     "op"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static parley::RequestParser parser;  // reused, as a session reuses its own
  parley::ParsedRequest req;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const parley::Status status = parser.Parse(frame, &req);
  if (!status.ok()) return 0;
  FUZZ_CHECK(!parley::OpName(req.op).empty());
  FUZZ_CHECK(parley::ParseOp(parley::OpName(req.op)) == req.op);
  for (std::string_view key : kKeys) {
    (void)req.fields.Has(key);
    (void)req.fields.Uint(key);
    (void)req.fields.OptUint(key);
    if (auto limit = req.fields.OptLimit(key); limit.ok() && *limit) FUZZ_CHECK(**limit > 0);
    (void)req.fields.String(key);
    (void)req.fields.OptString(key);
    (void)req.fields.OptInt(key);
    (void)req.fields.OptBool(key);
    (void)req.fields.User(key);
    (void)req.fields.OptUser(key);
    if (auto users = req.fields.Users(key, 8); users.ok()) FUZZ_CHECK(users->size() <= 8);
  }
  return 0;
}
