#include "tests/support/test_images.h"

#include <vips/vips.h>
#include <zlib.h>

namespace parley::test {
namespace {

void Chunk(std::string* png, const char* type, const std::string& data) {
  const uint32_t n = static_cast<uint32_t>(data.size());
  for (int s = 24; s >= 0; s -= 8) png->push_back(static_cast<char>(n >> s));
  std::string body = std::string(type, 4) + data;
  png->append(body);
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  for (int s = 24; s >= 0; s -= 8) png->push_back(static_cast<char>(crc >> s));
}

}  // namespace

std::string EncodedImage(int width, int height, const std::string& format, bool noisy) {
  VipsImage* xyz = nullptr;
  VipsImage* band = nullptr;
  VipsImage* wave = nullptr;  // x mod 256: a gradient that stays in range
  VipsImage* noise[3] = {};
  VipsImage* planes[3] = {};
  VipsImage* rgb = nullptr;
  VipsImage* u8 = nullptr;
  void* out = nullptr;
  size_t len = 0;
  int rc = vips_xyz(&xyz, width, height, nullptr);
  if (rc == 0) rc = vips_extract_band(xyz, &band, 0, nullptr);
  if (rc == 0) rc = vips_remainder_const1(band, &wave, 256, nullptr);
  // Noisy: each channel gets its own noise, so the JPEG is as hard to code (and to decode)
  // as a photograph's, a few MB for 12 megapixels.
  for (int c = 0; c < 3 && rc == 0; ++c) {
    if (noisy) {
      rc = vips_gaussnoise(&noise[c], width, height, "sigma", 40.0, "mean", 0.0, nullptr);
      if (rc == 0) rc = vips_add(wave, noise[c], &planes[c], nullptr);
    } else {
      planes[c] = wave;
      g_object_ref(wave);
    }
  }
  if (rc == 0) rc = vips_bandjoin(planes, &rgb, 3, nullptr);
  if (rc == 0) rc = vips_cast_uchar(rgb, &u8, nullptr);
  if (rc == 0) {
    rc = -1;
    if (format == "jpeg") rc = vips_jpegsave_buffer(u8, &out, &len, nullptr);
    if (format == "png") rc = vips_pngsave_buffer(u8, &out, &len, nullptr);
    if (format == "webp") rc = vips_webpsave_buffer(u8, &out, &len, nullptr);
    if (format == "gif") rc = vips_gifsave_buffer(u8, &out, &len, nullptr);
  }
  std::string bytes = rc == 0 ? std::string(static_cast<const char*>(out), len) : std::string();
  g_free(out);
  for (VipsImage* i :
       {xyz, band, wave, noise[0], noise[1], noise[2], planes[0], planes[1], planes[2], rgb, u8}) {
    if (i) g_object_unref(i);
  }
  return bytes;
}

std::string ClaimedPng(uint32_t width, uint32_t height) {
  std::string png = "\x89PNG\r\n\x1A\n";
  std::string ihdr;
  for (uint32_t v : {width, height}) {
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<char>(v >> s));
  }
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  Chunk(&png, "IHDR", ihdr);
  std::string zeros(1000, '\0'), packed(2000, '\0');
  uLongf packed_len = packed.size();
  compress(reinterpret_cast<Bytef*>(packed.data()), &packed_len,
           reinterpret_cast<const Bytef*>(zeros.data()), zeros.size());
  packed.resize(packed_len);
  Chunk(&png, "IDAT", packed);
  Chunk(&png, "IEND", "");
  return png;
}

}  // namespace parley::test
