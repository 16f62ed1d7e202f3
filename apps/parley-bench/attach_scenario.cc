// parley-bench attach: what attachments cost through parleyd's HTTP API (docs/protocol.md
// §7) — upload throughput (create, 8 MiB parts, complete: the server hashes every byte and
// writes it to the store), download throughput (streamed from the local store, or through
// a presigned redirect to radosgw), and the time of a 12-megapixel JPEG's thumbnail. Every download
// is compared with what was uploaded: `mismatched` must read 0 (the exit status says so).
#include <fmt/format.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "client/blocking_client.h"
#include "client/http_request.h"
#include "client/url.h"
#include "common/clock.h"
#include "media/thumbnail.h"
#include "net_common.h"
#include "s3/s3_client.h"
#include "s3/sigv4.h"
#include "scenarios.h"
#include "tests/support/radosgw_server.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

namespace parley::bench {
namespace {

constexpr uint64_t kMiB = 1 << 20;

struct Http {
  uint16_t port = 0;
  std::string token;

  Result<client::HttpResponse> Call(
      const std::string& method, const std::string& path, std::string body = "",
      std::vector<std::pair<std::string, std::string>> headers = {}) const {
    client::HttpRequestSpec spec;
    spec.port = port;
    spec.method = method;
    spec.path = path;
    spec.body = std::move(body);
    spec.headers = std::move(headers);
    spec.headers.emplace_back("Authorization", "Bearer " + token);
    spec.timeout_s = 120;
    return client::HttpRequest(spec);
  }
};

// Uploads `bytes` to `conv`; the attachment id.
Result<std::string> Upload(const Http& http, ConvId conv, const std::string& bytes,
                           const std::string& sha, const std::string& mime) {
  const std::string spec =
      fmt::format(R"({{"conv":{},"size":{},"sha256":"{}","mime":"{}","name":"bench.bin"}})", conv,
                  bytes.size(), sha, mime);
  PARLEY_ASSIGN_OR_RETURN(auto created, http.Call("POST", "/v1/uploads", spec));
  if (created.status != 201) return Status(Code::kInternal, "create: " + created.body);
  const auto upload = nlohmann::json::parse(created.body, nullptr, false);
  if (!upload.is_object()) return Status(Code::kInternal, "create: " + created.body);
  const std::string id = upload.value("upload_id", "");
  const uint64_t part = upload.value("part_bytes", uint64_t{8} << 20);
  for (uint64_t at = 0; at < bytes.size(); at += part) {
    PARLEY_ASSIGN_OR_RETURN(auto sent,
                            http.Call("PATCH", "/v1/uploads/" + id, bytes.substr(at, part),
                                      {{"Upload-Offset", std::to_string(at)}}));
    if (sent.status != 204) return Status(Code::kInternal, "part: " + sent.body);
  }
  PARLEY_ASSIGN_OR_RETURN(auto done, http.Call("POST", "/v1/uploads/" + id + "/complete"));
  if (done.status != 200) return Status(Code::kInternal, "complete: " + done.body);
  const auto reply = nlohmann::json::parse(done.body, nullptr, false);
  if (!reply.is_object() || !reply.contains("attachment")) {
    return Status(Code::kInternal, "complete: " + done.body);
  }
  return reply["attachment"].value("id", "");
}

// The bytes of attachment `id`, following a presigned redirect without the token.
Result<std::string> Download(const Http& http, const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(auto got, http.Call("GET", "/v1/attachments/" + id));
  if (got.status == 200) return std::move(got.body);
  if (got.status != 302) return Status(Code::kInternal, "download: " + got.body);
  PARLEY_ASSIGN_OR_RETURN(client::Url url, client::ParseHttpUrl(got.Header("Location")));
  client::HttpRequestSpec spec;
  spec.host = url.host;
  spec.port = url.port;
  spec.path = url.path;
  spec.tls = url.tls;
  spec.timeout_s = 120;
  PARLEY_ASSIGN_OR_RETURN(auto redirected, client::HttpRequest(spec));
  if (redirected.status != 200) return Status(Code::kInternal, "presigned GET failed");
  return std::move(redirected.body);
}

struct StoreFigures {
  std::vector<double> up_mbps, down_mbps;
  uint64_t mismatched = 0;
};

// One parleyd on `store_toml`; every size, `repeat` times.
Result<std::map<int, StoreFigures>> MeasureStore(const AttachScenarioOptions& o,
                                                 const std::string& store_toml) {
  testing::ServerOptions so;
  so.config_toml = std::string(kBenchConfig) +
                   "[attachments]\nmax_file_mb = 1024\nquota_mb = 0\ncollect_every_s = 0\n" +
                   store_toml;
  PARLEY_ASSIGN_OR_RETURN(auto server, testing::ServerProcess::Start(so));
  client::ConnectOptions co;
  co.url = server->url();
  client::BlockingClient alice(co), bob(co);
  PARLEY_RETURN_IF_ERROR(alice.Connect());
  PARLEY_RETURN_IF_ERROR(bob.Connect());
  PARLEY_RETURN_IF_ERROR(alice.Register("alice", "alice-password").status());
  PARLEY_RETURN_IF_ERROR(bob.Register("bob", "bob-password").status());
  PARLEY_ASSIGN_OR_RETURN(auto login, alice.Login("alice", "alice-password", "bench"));
  PARLEY_ASSIGN_OR_RETURN(auto conv, alice.OpenDirect(client::UserArg("bob")));
  Http http{server->port(), login.token};

  std::map<int, StoreFigures> out;
  std::mt19937_64 rng(42);
  for (int size_mb : o.sizes_mb) {
    const int files = std::max(1, o.total_mb / size_mb);
    StoreFigures& f = out[size_mb];
    for (int run = 0; run < o.repeat; ++run) {
      // Fresh bytes each run: an upload of bytes already stored would be deduplicated.
      std::vector<std::string> bytes(files), shas(files), ids(files);
      for (int i = 0; i < files; ++i) {
        bytes[i].resize(static_cast<size_t>(size_mb) * kMiB);
        for (size_t j = 0; j + 8 <= bytes[i].size(); j += 8) {
          const uint64_t v = rng();
          std::memcpy(bytes[i].data() + j, &v, 8);
        }
        shas[i] = s3::Sha256Hex(bytes[i]);
      }
      const double total_mb = static_cast<double>(files) * size_mb * kMiB / 1e6;
      int64_t start = MonotonicNanos();
      for (int i = 0; i < files; ++i) {
        PARLEY_ASSIGN_OR_RETURN(ids[i],
                                Upload(http, conv.id, bytes[i], shas[i], "application/x-bench"));
      }
      f.up_mbps.push_back(total_mb / (static_cast<double>(MonotonicNanos() - start) / 1e9));
      start = MonotonicNanos();
      std::vector<std::string> got(files);
      for (int i = 0; i < files; ++i) {
        PARLEY_ASSIGN_OR_RETURN(got[i], Download(http, ids[i]));
      }
      f.down_mbps.push_back(total_mb / (static_cast<double>(MonotonicNanos() - start) / 1e9));
      for (int i = 0; i < files; ++i) {
        if (got[i] != bytes[i]) ++f.mismatched;
      }
    }
  }
  return out;
}

// Milliseconds per thumbnail of `jpeg`, made in process the way the server makes it when
// an upload completes (media::MakeThumbnail); the median of `count`.
double ThumbnailMs(int count, const std::string& jpeg) {
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    const int64_t start = MonotonicNanos();
    auto t = media::MakeThumbnail(jpeg);
    if (!t.ok()) return -1;
    ms.push_back(static_cast<double>(MonotonicNanos() - start) / 1e6);
  }
  return Median(ms);
}

void Print(const std::string& store, const std::map<int, StoreFigures>& figures, uint64_t* bad) {
  for (const auto& [size_mb, f] : figures) {
    fmt::print(
        "attach {:<8} {:>3} MiB files: upload {:7.1f} MB/s  download {:7.1f} MB/s  "
        "(medians of {})  mismatched {}\n",
        store, size_mb, Median(f.up_mbps), Median(f.down_mbps), f.up_mbps.size(), f.mismatched);
    *bad += f.mismatched;
  }
}

}  // namespace

int RunAttachScenario(const AttachScenarioOptions& o) {
  if (Status st = media::InitMedia(); !st.ok()) {
    fmt::print(stderr, "attach: {}\n", st.ToString());
    return 1;
  }
  uint64_t bad = 0;
  auto local = MeasureStore(o, "");
  if (!local.ok()) {
    fmt::print(stderr, "attach (local): {}\n", local.status().ToString());
    return 1;
  }
  Print("local", *local, &bad);
  if (o.s3) {
    auto gw = test::RadosGw::Shared();
    if (!gw.ok()) {
      fmt::print(stderr, "attach: radosgw: {}\n", gw.status().ToString());
      return 1;
    }
    s3::S3Config s3 = (*gw)->Config("bench-attach");
    auto client = s3::S3Client::Create(s3);
    if (!client.ok() || !(*client)->CreateBucket().ok()) {
      fmt::print(stderr, "attach: cannot create the bucket\n");
      return 1;
    }
    test::TempDir dir("parley-bench-attach-");
    const std::string secret = dir.path() + "/s3.secret";
    {
      std::FILE* f = std::fopen(secret.c_str(), "w");
      if (!f) return 1;
      std::fputs((s3.credentials.secret_key + "\n").c_str(), f);
      std::fclose(f);
    }
    ::chmod(secret.c_str(), 0600);
    auto remote = MeasureStore(
        o, fmt::format("store = \"s3://{}/bench\"\n[s3]\nendpoint = \"{}\"\nregion = \"{}\"\n"
                       "access_key = \"{}\"\nsecret_key_file = \"{}\"\n",
                       s3.bucket, s3.endpoint, s3.region, s3.credentials.access_key, secret));
    if (!remote.ok()) {
      fmt::print(stderr, "attach (radosgw): {}\n", remote.status().ToString());
      return 1;
    }
    Print("radosgw", *remote, &bad);
  }
  if (o.thumbnails > 0) {
    const std::string jpeg = test::EncodedImage(4000, 3000, "jpeg", /*noisy=*/true);
    const double ms = ThumbnailMs(o.thumbnails, jpeg);
    fmt::print("attach thumbnail of a 4000x3000 JPEG ({:.1f} MB): {:.1f} ms (median of {})\n",
               static_cast<double>(jpeg.size()) / 1e6, ms, o.thumbnails);
    if (ms < 0) return 1;
  }
  fmt::print("attach mismatched downloads: {}\n", bad);
  return bad == 0 ? 0 : 1;
}

}  // namespace parley::bench
