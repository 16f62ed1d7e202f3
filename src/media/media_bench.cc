// Micro-benchmarks of the attachment path's CPU costs: a thumbnail of a 12-megapixel JPEG
// and of a 2-megapixel PNG (decode + shrink + WebP + preview), the SHA-256 of an 8 MiB
// upload part, and signing one S3 request.
//   build/release/media_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <sodium.h>
#include <vips/vips.h>

#include <random>
#include <string>

#include "media/thumbnail.h"
#include "s3/sigv4.h"

namespace parley {
namespace {

// A W x H noisy RGB image encoded as `format` (noise: no shortcut for the codecs).
std::string Encoded(int w, int h, const char* format) {
  VipsImage* noise = nullptr;
  vips_gaussnoise(&noise, w, h, "mean", 128.0, "sigma", 40.0, nullptr);
  VipsImage* in[] = {noise, noise, noise};
  VipsImage* rgb = nullptr;
  vips_bandjoin(in, &rgb, 3, nullptr);
  VipsImage* u8 = nullptr;
  vips_cast_uchar(rgb, &u8, nullptr);
  void* out = nullptr;
  size_t len = 0;
  if (std::string(format) == "jpeg") vips_jpegsave_buffer(u8, &out, &len, "Q", 85, nullptr);
  if (std::string(format) == "png") vips_pngsave_buffer(u8, &out, &len, nullptr);
  std::string bytes(static_cast<const char*>(out), len);
  g_free(out);
  for (VipsImage* i : {noise, rgb, u8}) g_object_unref(i);
  return bytes;
}

void BM_Thumbnail(benchmark::State& state, int w, int h, const char* format) {
  if (!media::InitMedia().ok()) return state.SkipWithError("libvips did not start");
  const std::string bytes = Encoded(w, h, format);
  for (auto _ : state) {
    auto t = media::MakeThumbnail(bytes);
    if (!t.ok()) return state.SkipWithError(t.status().ToString().c_str());
    benchmark::DoNotOptimize(t->webp.data());
  }
  state.counters["source_MB"] = static_cast<double>(bytes.size()) / 1e6;
}
BENCHMARK_CAPTURE(BM_Thumbnail, jpeg_4000x3000, 4000, 3000, "jpeg")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Thumbnail, png_1600x1200, 1600, 1200, "png")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Sha256Part(benchmark::State& state) {
  const std::string part(8 << 20, 'x');
  unsigned char digest[crypto_hash_sha256_BYTES];
  for (auto _ : state) {
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(part.data()), part.size());
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(part.size()));
}
BENCHMARK(BM_Sha256Part)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SignS3Request(benchmark::State& state) {
  const s3::Credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                              ""};
  s3::Scope scope;
  scope.amz_date = "20261126T000000Z";
  for (auto _ : state) {
    s3::Request r;
    r.method = "PUT";
    r.path = "/bucket/att/ab/cd/abcdef0123456789";
    r.query = {{"partNumber", "3"}, {"uploadId", "2~abcdefghijklmnop"}};
    r.headers = {{"host", "127.0.0.1:7480"}, {"content-type", "application/octet-stream"}};
    r.payload_sha256 = std::string(s3::kUnsignedPayload);
    benchmark::DoNotOptimize(s3::SignHeaders(&r, creds, scope));
  }
}
BENCHMARK(BM_SignS3Request);

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
