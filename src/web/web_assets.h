// WebAssets: the files of the web client, read once at start-up into memory (with a gzip
// copy of each compressible one and an ETag) and served at /app/ with the headers a page
// of the server needs: a strict Content-Security-Policy, no sniffing, no framing, and
// revalidation on every load (names are not content-hashed, so a new build is picked up at
// once; an unchanged file costs a 304).
//
// Only regular files directly in the directory with a known extension are served, so no
// request path can reach anything else. Thread-safety: immutable after Load.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/routes.h"

namespace parley::web {

struct Asset {
  std::string content_type;
  std::string body;
  std::string gzip;  // empty: not worth compressing
  std::string etag;  // quoted
};

class WebAssets {
 public:
  static constexpr size_t kMaxFiles = 256;
  static constexpr size_t kMaxTotalBytes = 64u << 20;

  // Reads every servable file of `dir`. An error if `dir` is unreadable, holds no
  // index.html, or is over the limits above.
  static Result<std::shared_ptr<const WebAssets>> Load(const std::string& dir);

  // The file named `name` (no '/'), or null.
  const Asset* Find(std::string_view name) const;
  size_t size() const { return files_.size(); }

 private:
  std::map<std::string, Asset, std::less<>> files_;
};

// The content type served for a file name's extension; empty for a file not served.
std::string_view ContentTypeFor(std::string_view name);

// The reply for GET `path` (under /app/) with the request's If-None-Match and
// Accept-Encoding headers.
RouteReply ServeAsset(const WebAssets& assets, std::string_view path,
                      std::string_view if_none_match, std::string_view accept_encoding);

// The routes: /app/… (files), /app (redirect to /app/) and / (redirect to /app/).
std::vector<Route> WebRoutes(std::shared_ptr<const WebAssets> assets);

}  // namespace parley::web
