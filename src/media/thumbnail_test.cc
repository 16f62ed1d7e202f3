#include "media/thumbnail.h"

#include <gtest/gtest.h>
#include <vips/vips.h>
#include <zlib.h>

#include <chrono>

namespace parley::media {
namespace {

// A W x H RGB test image (a gradient) encoded as `format` by libvips itself.
std::string Encoded(int w, int h, const std::string& format) {
  VipsImage* xyz = nullptr;
  EXPECT_EQ(vips_xyz(&xyz, w, h, nullptr), 0);
  VipsImage* band = nullptr;
  EXPECT_EQ(vips_extract_band(xyz, &band, 0, nullptr), 0);
  VipsImage* rgb = nullptr;
  VipsImage* in[] = {band, band, band};
  EXPECT_EQ(vips_bandjoin(in, &rgb, 3, nullptr), 0);
  VipsImage* u8 = nullptr;
  EXPECT_EQ(vips_cast_uchar(rgb, &u8, nullptr), 0);
  void* out = nullptr;
  size_t len = 0;
  int rc = -1;
  if (format == "jpeg") rc = vips_jpegsave_buffer(u8, &out, &len, nullptr);
  if (format == "png") rc = vips_pngsave_buffer(u8, &out, &len, nullptr);
  if (format == "webp") rc = vips_webpsave_buffer(u8, &out, &len, nullptr);
  if (format == "gif") rc = vips_gifsave_buffer(u8, &out, &len, nullptr);
  EXPECT_EQ(rc, 0) << vips_error_buffer();
  std::string bytes(static_cast<const char*>(out), len);
  g_free(out);
  for (VipsImage* i : {xyz, band, rgb, u8}) g_object_unref(i);
  return bytes;
}

void Chunk(std::string* png, const char* type, const std::string& data) {
  const uint32_t n = static_cast<uint32_t>(data.size());
  for (int s = 24; s >= 0; s -= 8) png->push_back(static_cast<char>(n >> s));
  std::string body = std::string(type, 4) + data;
  png->append(body);
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  for (int s = 24; s >= 0; s -= 8) png->push_back(static_cast<char>(crc >> s));
}

// A PNG whose header claims width x height: a few hundred bytes that would decode to
// width * height * 3 bytes (a decompression bomb when large).
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

class ThumbnailTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(InitMedia().ok()); }
};

TEST_F(ThumbnailTest, EachFormatGivesDimensionsAThumbnailAndAPreview) {
  for (const std::string& format : std::vector<std::string>{"jpeg", "png", "webp", "gif"}) {
    const std::string bytes = Encoded(1200, 800, format);
    EXPECT_EQ(SniffImageFormat(bytes), format);
    auto t = MakeThumbnail(bytes);
    ASSERT_TRUE(t.ok()) << format << ": " << t.status().ToString();
    EXPECT_EQ(t->format, format);
    EXPECT_EQ(t->width, 1200);
    EXPECT_EQ(t->height, 800);
    EXPECT_EQ(t->thumb_width, 320) << format;
    EXPECT_EQ(t->thumb_height, 213) << format;
    EXPECT_EQ(SniffImageFormat(t->webp), "webp");
    EXPECT_EQ(SniffImageFormat(t->preview_jpeg), "jpeg");
    EXPECT_LT(t->preview_jpeg.size(), 2000u) << format;
  }
  // Smaller than the box: never enlarged.
  auto small = MakeThumbnail(Encoded(100, 50, "png"));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->thumb_width, 100);
  EXPECT_EQ(small->thumb_height, 50);
}

TEST_F(ThumbnailTest, ADecompressionBombIsRefusedFromItsHeader) {
  const std::string bomb = ClaimedPng(100000, 100000);
  ASSERT_LT(bomb.size(), 1000u);
  const auto start = std::chrono::steady_clock::now();
  auto t = MakeThumbnail(bomb);
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("over the limit"), std::string::npos)
      << t.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // Under the limit but lying about its pixel data: an error, not garbage or a crash.
  auto liar = MakeThumbnail(ClaimedPng(2000, 2000));
  EXPECT_EQ(liar.status().code(), Code::kInvalidArgument) << liar.status().ToString();
}

TEST_F(ThumbnailTest, WhatIsNotOneOfTheFourFormatsIsRefused) {
  for (const std::string& bytes :
       {std::string("hello"), std::string(""), std::string("<svg xmlns='x'/>"),
        std::string("%PDF-1.4 ..."), std::string("BM\x36\x00\x00\x00", 6)}) {
    EXPECT_EQ(MakeThumbnail(bytes).status().code(), Code::kInvalidArgument) << bytes;
  }
  // A truncated JPEG: decoding stops at the error.
  std::string jpeg = Encoded(800, 600, "jpeg");
  jpeg.resize(jpeg.size() / 3);
  EXPECT_EQ(MakeThumbnail(jpeg).status().code(), Code::kInvalidArgument);
}

TEST_F(ThumbnailTest, ALowPixelLimitAppliesToRealImages) {
  ImageLimits limits;
  limits.max_pixels = 1000 * 1000;
  EXPECT_TRUE(MakeThumbnail(Encoded(1000, 1000, "jpeg"), limits).ok());
  EXPECT_EQ(MakeThumbnail(Encoded(1001, 1000, "jpeg"), limits).status().code(),
            Code::kInvalidArgument);
}

TEST_F(ThumbnailTest, APipelinePastItsTimeLimitIsKilled) {
  ImageLimits limits;
  limits.timeout_ms = 0;  // already late: the first progress report kills it
  auto t = MakeThumbnail(Encoded(3000, 2000, "png"), limits);
  EXPECT_EQ(t.status().code(), Code::kUnavailable) << t.status().ToString();
  EXPECT_TRUE(MakeThumbnail(Encoded(3000, 2000, "png")).ok());  // with time, it works
}

}  // namespace
}  // namespace parley::media
