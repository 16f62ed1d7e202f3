#include "media/thumbnail.h"

#include <gtest/gtest.h>
#include <vips/vips.h>

#include <chrono>

#include "tests/support/test_images.h"

namespace parley::media {
namespace {

// A W x H test image encoded as `format` by libvips itself.
std::string Encoded(int w, int h, const std::string& format) {
  std::string bytes = test::EncodedImage(w, h, format);
  EXPECT_FALSE(bytes.empty()) << vips_error_buffer();
  return bytes;
}

using test::ClaimedPng;

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
