#include "web/web_assets.h"

#include <fmt/format.h>
#include <sodium.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ascii.h"

namespace parley::web {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kPrefix = "/app/";

// Pages of the app may load only the app's own scripts and styles, talk only to their own
// origin (the WebSocket and the attachment API), show images from it, from blob: URLs
// (thumbnails fetched with the token) and data: URLs (inline previews), and be framed by
// nobody.
constexpr const char* kPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

std::string Gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

std::string EtagOf(const std::string& body) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  std::string hex;
  for (int i = 0; i < 12; ++i) hex += fmt::format("{:02x}", digest[i]);
  return "\"" + hex + "\"";
}

bool Compressible(std::string_view type) {
  return type.starts_with("text/") || type.starts_with("application/json") ||
         type.starts_with("application/manifest") || type.starts_with("image/svg");
}

// Whether If-None-Match (a list of quoted tags, or *) names `etag`.
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  // A weak W/"…" of the same tag matches too: GET uses the weak comparison (RFC 9110 13.1.2).
  return if_none_match.find(etag) != std::string_view::npos;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  const std::string lower = AsciiLower(accept_encoding);
  const size_t at = lower.find("gzip");
  if (at == std::string::npos) return false;
  // "gzip;q=0" refuses it.
  const std::string_view rest = std::string_view(lower).substr(at + 4);
  return !(rest.starts_with(";q=0") && !rest.starts_with(";q=0."));
}

RouteReply Redirect(std::string location) {
  RouteReply r;
  r.status = 301;
  r.body = "see " + location + "\n";
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

}  // namespace

std::string_view ContentTypeFor(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  const std::string ext = AsciiLower(name.substr(dot + 1));
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "webmanifest") return "application/manifest+json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "webp") return "image/webp";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return {};
}

Result<std::shared_ptr<const WebAssets>> WebAssets::Load(const std::string& dir) {
  auto assets = std::make_shared<WebAssets>();
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status(Code::kIOError, fmt::format("web: cannot read {}: {}", dir, ec.message()));
  size_t total = 0;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    const std::string_view type = ContentTypeFor(name);
    if (type.empty() || name.starts_with('.') || !entry.is_regular_file(ec)) continue;
    if (assets->files_.size() >= kMaxFiles) {
      return Status(Code::kInvalidArgument,
                    fmt::format("web: more than {} files in {}", kMaxFiles, dir));
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof())
      return Status(Code::kIOError, "web: cannot read " + entry.path().string());
    Asset a;
    a.content_type = std::string(type);
    a.body = std::move(text).str();
    total += a.body.size();
    if (total > kMaxTotalBytes) {
      return Status(Code::kInvalidArgument,
                    fmt::format("web: {} holds over {} MiB", dir, kMaxTotalBytes >> 20));
    }
    a.etag = EtagOf(a.body);
    if (Compressible(type) && a.body.size() > 256) {
      std::string gz = Gzip(a.body);
      if (!gz.empty() && gz.size() < a.body.size() * 9 / 10) a.gzip = std::move(gz);
    }
    assets->files_.emplace(name, std::move(a));
  }
  if (!assets->files_.contains("index.html")) {
    return Status(Code::kNotFound,
                  fmt::format("web: {} has no index.html (build it: node web/build.mjs)", dir));
  }
  return std::shared_ptr<const WebAssets>(std::move(assets));
}

const Asset* WebAssets::Find(std::string_view name) const {
  auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

RouteReply ServeAsset(const WebAssets& assets, std::string_view path,
                      std::string_view if_none_match, std::string_view accept_encoding) {
  std::string_view name = path.substr(std::min(path.size(), kPrefix.size()));
  if (name.empty()) name = "index.html";
  const Asset* a = name.find('/') == std::string_view::npos ? assets.Find(name) : nullptr;
  if (a == nullptr) {
    RouteReply r;
    r.status = 404;
    r.body = "not found\n";
    return r;
  }
  RouteReply r;
  r.content_type = a->content_type;
  r.headers.emplace_back("ETag", a->etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (a->content_type.starts_with("text/html")) {
    r.headers.emplace_back("Content-Security-Policy", kPolicy);
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  if (Matches(if_none_match, a->etag)) {
    r.status = 304;
    return r;
  }
  if (!a->gzip.empty() && AcceptsGzip(accept_encoding)) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = a->gzip;
  } else {
    r.body = a->body;
  }
  return r;
}

std::vector<Route> WebRoutes(std::shared_ptr<const WebAssets> assets) {
  std::vector<Route> routes;
  routes.push_back({.path = "/app/",
                    .prefix = true,
                    .methods = kGet,
                    .served_on = ServedOn::kMain,
                    .handler = [assets](RouteRequest req, ReplyFn reply) {
                      reply(ServeAsset(*assets, req.path, req.Header("If-None-Match"),
                                       req.Header("Accept-Encoding")));
                    }});
  for (const char* path : {"/app", "/"}) {
    routes.push_back({.path = path,
                      .methods = kGet,
                      .served_on = ServedOn::kMain,
                      .handler = [](RouteRequest, ReplyFn reply) { reply(Redirect("/app/")); }});
  }
  return routes;
}

}  // namespace parley::web
