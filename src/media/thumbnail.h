// Thumbnails of images people send: the dimensions, a WebP thumbnail that fits in
// `thumb_size` square, and a tiny JPEG preview to inline in the message, made with
// libvips.
//
// Images come from users, so every decode is guarded:
// - only JPEG, PNG, WebP and GIF (the first frame) are read, each through its own loader,
//   chosen by the file's magic bytes — never ImageMagick or another "untrusted" loader
//   (vips_block_untrusted_set), whatever the bytes claim;
// - the header is read first and an image over `max_pixels` is refused before any pixel
//   is decoded (decompression bombs: a 100,000 x 100,000 PNG is a few kilobytes);
// - decoding stops at the first error (fail_on = error), and a pipeline that runs longer
//   than `timeout_ms` is killed;
// - libvips keeps no cache of user images and uses one thread per call (the caller's
//   worker pool decides how many run at once).
//
// Thread-safety: MakeThumbnail may run on several threads at once; InitMedia once first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace parley::media {

// Starts libvips (once per process; later calls return the first result).
Status InitMedia();

struct ImageLimits {
  uint64_t max_pixels = 50'000'000;  // width x height of the source image
  int thumb_size = 320;              // the thumbnail fits in this square
  int preview_size = 24;             // the inline preview fits in this square
  int64_t timeout_ms = 10'000;
};

struct Thumbnail {
  std::string format;         // "jpeg", "png", "webp", "gif"
  int width = 0, height = 0;  // of the source image
  std::string webp;           // the thumbnail
  int thumb_width = 0, thumb_height = 0;
  std::string preview_jpeg;  // the tiny preview (a few hundred bytes)
};

// kInvalidArgument: not one of the four formats, over the limits, or undecodable;
// kUnavailable: killed by the timeout.
Result<Thumbnail> MakeThumbnail(std::string_view bytes, const ImageLimits& limits = {});

// The format by magic bytes ("jpeg", "png", "webp", "gif"), or "" for anything else.
std::string_view SniffImageFormat(std::string_view bytes);

}  // namespace parley::media
