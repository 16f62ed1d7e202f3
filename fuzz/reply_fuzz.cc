// A frame as a server sends it, read by the client library (src/protocol/decode.h): a
// client must survive a broken or hostile server, so every decoder runs on every input.
#include <cstdint>
#include <string_view>

#include "protocol/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  (void)DecodeHeader(frame);
  int64_t retry_after_ms = 0;
  (void)DecodeError(frame, &retry_after_ms);
  (void)DecodeErrorInfo(frame);
  (void)DecodeLogin(frame);
  (void)DecodeRegister(frame);
  (void)DecodeUsers(frame);
  (void)DecodeSendAck(frame);
  (void)DecodeSync(frame);
  (void)DecodeHistory(frame);
  (void)DecodeConvs(frame);
  (void)DecodeConversationReply(frame);
  (void)DecodeConvGet(frame);
  (void)DecodeMembers(frame);
  (void)DecodeRead(frame);
  (void)DecodeEdit(frame);
  (void)DecodeSearch(frame);
  (void)DecodePing(frame);
  (void)DecodePush(frame);
  (void)DecodePushes(frame);
  return 0;
}
