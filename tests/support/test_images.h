// Images for tests of thumbnails and attachments: real encodings made by libvips, and a
// forged PNG whose header claims any size (a decompression bomb in a few hundred bytes).
//
// Thread-safety: call media::InitMedia() (or vips_init) first; then any thread.
#pragma once

#include <cstdint>
#include <string>

namespace parley::test {

// A width x height RGB gradient encoded as `format` ("jpeg", "png", "webp", "gif"); empty
// on a libvips error. `noisy`: with Gaussian noise on top, which compresses like a photo
// (a 12 MP JPEG of a few MB) rather than like a flat gradient.
std::string EncodedImage(int width, int height, const std::string& format, bool noisy = false);

// A PNG whose header claims width x height: a few hundred bytes that would decode to
// width * height * 3 bytes.
std::string ClaimedPng(uint32_t width, uint32_t height);

}  // namespace parley::test
