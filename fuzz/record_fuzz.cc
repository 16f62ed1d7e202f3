// A value read back from the store (src/store/record_codec.cc): a damaged or corrupted
// record must decode to an error, never to a crash or a read past its end. The first byte
// picks the record kind; one that decodes encodes to bytes that decode to the same record.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "store/record_codec.h"

namespace {

// decode(in) ok → encode → decode → encode gives the same bytes both times.
template <typename Decode, typename Encode>
void RoundTrip(std::string_view in, Decode decode, Encode encode) {
  auto first = decode(in);
  if (!first.ok()) return;
  std::string once;
  encode(*first, &once);
  auto second = decode(once);
  FUZZ_CHECK(second.ok());
  std::string twice;
  encode(*second, &twice);
  FUZZ_CHECK(once == twice);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr ConvId kConv = 7;
  constexpr UserId kUser = 11, kOther = 13;
  switch (data[0] % 13) {
    case 0:
      RoundTrip(in, DecodeUser, EncodeUser);
      break;
    case 1:
      RoundTrip(in, DecodeDevice, EncodeDevice);
      break;
    case 2:
      RoundTrip(
          in, [](std::string_view v) { return DecodeInvite(v, "digest"); }, EncodeInvite);
      break;
    case 3:
      RoundTrip(in, DecodeConversation, EncodeConversation);
      break;
    case 4:
      RoundTrip(in, DecodeConvHead, EncodeConvHead);
      break;
    case 5:
      RoundTrip(
          in, [](std::string_view v) { return DecodeMember(v, kConv, kUser); }, EncodeMember);
      break;
    case 6:
      RoundTrip(
          in, [](std::string_view v) { return DecodeMessage(v, kConv, 42); }, EncodeMessage);
      break;
    case 7:
      RoundTrip(
          in, [](std::string_view v) { return DecodeInboxEvent(v, kUser, 42); }, EncodeInboxEvent);
      break;
    case 8:
      RoundTrip(in, DecodeDedup, EncodeDedup);
      break;
    case 9:
      RoundTrip(
          in, [](std::string_view v) { return DecodeChange(v, 42); }, EncodeChange);
      break;
    case 10:
      RoundTrip(
          in, [](std::string_view v) { return DecodeBlock(v, kUser, kOther); }, EncodeBlock);
      break;
    case 11:
      RoundTrip(in, DecodeCounters, EncodeCounters);
      break;
    default:
      RoundTrip(in, DecodeU64, EncodeU64);
      break;
  }
  return 0;
}
