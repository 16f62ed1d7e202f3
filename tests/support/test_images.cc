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
  VipsImage* noise = nullptr;
  VipsImage* textured = nullptr;
  VipsImage* rgb = nullptr;
  VipsImage* u8 = nullptr;
  void* out = nullptr;
  size_t len = 0;
  int rc = vips_xyz(&xyz, width, height, nullptr);
  if (rc == 0) rc = vips_extract_band(xyz, &band, 0, nullptr);
  if (rc == 0 && noisy) rc = vips_gaussnoise(&noise, width, height, "sigma", 40.0, nullptr);
  if (rc == 0 && noisy) rc = vips_add(band, noise, &textured, nullptr);
  if (rc == 0) {
    VipsImage* plane = noisy ? textured : band;
    VipsImage* in[] = {plane, plane, plane};
    rc = vips_bandjoin(in, &rgb, 3, nullptr);
  }
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
  for (VipsImage* i : {xyz, band, noise, textured, rgb, u8}) {
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
