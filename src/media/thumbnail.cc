#include "media/thumbnail.h"

#include <vips/vips.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>

namespace parley::media {
namespace {

struct Unref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

// libvips's last error, cleared.
std::string VipsError() {
  std::string e = vips_error_buffer();
  vips_error_clear();
  while (!e.empty() && e.back() == '\n') e.pop_back();
  return e;
}

Status Undecodable(const std::string& what) {
  return Status(Code::kInvalidArgument, "image cannot be read: " + what);
}

// Kills a pipeline that runs past its deadline (the "eval" signal of the image computed).
struct Deadline {
  std::chrono::steady_clock::time_point at;
  bool fired = false;
};
void OnEval(VipsImage* image, VipsProgress* /*progress*/, void* data) {
  auto* d = static_cast<Deadline*>(data);
  if (std::chrono::steady_clock::now() > d->at) {
    d->fired = true;
    vips_image_set_kill(image, TRUE);
  }
}

// The header of `bytes` through the loader of `format` alone; no pixel decoded yet. A JPEG
// may be opened shrunk by 2, 4 or 8 (`jpeg_shrink`): its decoder then skips most of the
// work, which is most of a thumbnail's time.
Result<ImagePtr> OpenHeader(std::string_view bytes, std::string_view format, int jpeg_shrink = 1) {
  VipsImage* out = nullptr;
  void* buf = const_cast<char*>(bytes.data());
  int rc = -1;
  if (format == "jpeg") {
    rc = vips_jpegload_buffer(buf, bytes.size(), &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                              VIPS_FAIL_ON_ERROR, "shrink", jpeg_shrink, nullptr);
  } else if (format == "png") {
    rc = vips_pngload_buffer(buf, bytes.size(), &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                             VIPS_FAIL_ON_ERROR, nullptr);
  } else if (format == "webp") {
    rc = vips_webpload_buffer(buf, bytes.size(), &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                              VIPS_FAIL_ON_ERROR, nullptr);
  } else if (format == "gif") {
    rc = vips_gifload_buffer(buf, bytes.size(), &out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                             VIPS_FAIL_ON_ERROR, nullptr);
  }
  if (rc != 0 || out == nullptr) return Undecodable(VipsError());
  return ImagePtr(out);
}

// `image` (a lazily loaded source) shrunk to fit `size` and encoded; pixels are decoded
// here, under the deadline.
Result<std::string> Encode(VipsImage* image, int size, bool webp, Deadline* deadline, int* width,
                           int* height) {
  VipsImage* thumb = nullptr;
  if (vips_thumbnail_image(image, &thumb, size, "height", size, "size", VIPS_SIZE_DOWN, nullptr) !=
      0) {
    return Undecodable(VipsError());
  }
  ImagePtr held(thumb);
  vips_image_set_progress(thumb, TRUE);
  g_signal_connect(thumb, "eval", G_CALLBACK(OnEval), deadline);
  void* out = nullptr;
  size_t len = 0;
  const int rc = webp ? vips_webpsave_buffer(thumb, &out, &len, "Q", 75, "strip", TRUE, nullptr)
                      : vips_jpegsave_buffer(thumb, &out, &len, "Q", 40, "strip", TRUE, nullptr);
  if (rc != 0) {
    std::string why = VipsError();
    if (deadline->fired) return Status(Code::kUnavailable, "image took too long to decode");
    return Undecodable(why);
  }
  std::string bytes(static_cast<const char*>(out), len);
  g_free(out);
  if (width) *width = vips_image_get_width(thumb);
  if (height) *height = vips_image_get_height(thumb);
  return bytes;
}

}  // namespace

Status InitMedia() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] {
    if (VIPS_INIT("parleyd") != 0) {
      result = Status(Code::kInternal, "libvips did not start: " + VipsError());
      return;
    }
    vips_block_untrusted_set(TRUE);
    // Decode errors come back as statuses; libvips's own warnings ("error in tile …")
    // would only repeat them on stderr.
    g_log_set_handler(
        "VIPS", G_LOG_LEVEL_WARNING, [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {},
        nullptr);
    vips_cache_set_max(0);  // nothing of one user's image stays for the next request
    vips_concurrency_set(1);
    result = Status::Ok();
  });
  return result;
}

std::string_view SniffImageFormat(std::string_view b) {
  if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") return "jpeg";
  if (b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1A\n") return "png";
  if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a")) return "gif";
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return "webp";
  return "";
}

Result<Thumbnail> MakeThumbnail(std::string_view bytes, const ImageLimits& limits) {
  PARLEY_RETURN_IF_ERROR(InitMedia());
  const std::string_view format = SniffImageFormat(bytes);
  if (format.empty()) {
    return Status(Code::kInvalidArgument, "not a JPEG, PNG, WebP or GIF image");
  }
  PARLEY_ASSIGN_OR_RETURN(ImagePtr source, OpenHeader(bytes, format));
  Thumbnail t;
  t.format = std::string(format);
  t.width = vips_image_get_width(source.get());
  t.height = vips_image_get_height(source.get());
  const uint64_t pixels = static_cast<uint64_t>(t.width) * static_cast<uint64_t>(t.height);
  if (t.width <= 0 || t.height <= 0 || pixels > limits.max_pixels) {
    return Status(Code::kInvalidArgument,
                  "image of " + std::to_string(t.width) + " x " + std::to_string(t.height) +
                      " pixels is over the limit of " + std::to_string(limits.max_pixels));
  }
  if (format == "jpeg") {
    // The largest shrink-on-load that keeps the image at least as large as the thumbnail.
    const int longest = std::max(t.width, t.height);
    int shrink = 1;
    while (shrink < 8 && longest / (shrink * 2) >= limits.thumb_size) shrink *= 2;
    if (shrink > 1) {
      PARLEY_ASSIGN_OR_RETURN(source, OpenHeader(bytes, format, shrink));
    }
  }
  Deadline deadline{std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(limits.timeout_ms)};
  PARLEY_ASSIGN_OR_RETURN(t.webp, Encode(source.get(), limits.thumb_size, true, &deadline,
                                         &t.thumb_width, &t.thumb_height));
  // The sequential source is spent: the preview is made from the thumbnail, which is small.
  VipsImage* small = nullptr;
  if (vips_webpload_buffer(t.webp.data(), t.webp.size(), &small, nullptr) != 0) {
    return Status(Code::kInternal, "thumbnail cannot be read back: " + VipsError());
  }
  ImagePtr small_held(small);
  PARLEY_ASSIGN_OR_RETURN(t.preview_jpeg,
                          Encode(small, limits.preview_size, false, &deadline, nullptr, nullptr));
  return t;
}

}  // namespace parley::media
