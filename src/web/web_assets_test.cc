#include "web/web_assets.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace parley::web {
namespace {

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string Gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

std::string HeaderOf(const RouteReply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class WebAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(dir_.path() + "/index.html",
          "<!doctype html><title>Parley</title>" + std::string(400, ' '));
    Write(dir_.path() + "/app.js", "console.log('" + std::string(5000, 'x') + "');");
    Write(dir_.path() + "/app.css", "body{}");
    Write(dir_.path() + "/secret.key", "not served");
    Write(dir_.path() + "/.hidden.js", "not served");
    std::filesystem::create_directory(dir_.path() + "/sub");
    Write(dir_.path() + "/sub/inner.js", "not served");
  }
  test::TempDir dir_;
};

TEST_F(WebAssetsTest, ServesKnownFilesWithSafeHeaders) {
  auto assets = WebAssets::Load(dir_.path());
  ASSERT_TRUE(assets.ok()) << assets.status().ToString();
  EXPECT_EQ((*assets)->size(), 3u);  // index.html, app.js, app.css

  RouteReply index = ServeAsset(**assets, "/app/", "", "");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(HeaderOf(index, "Content-Security-Policy").find("script-src 'self'"),
            std::string::npos);
  EXPECT_EQ(HeaderOf(index, "X-Frame-Options"), "DENY");
  EXPECT_EQ(HeaderOf(index, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(index, "Cache-Control"), "no-cache");

  RouteReply js = ServeAsset(**assets, "/app/app.js", "", "gzip, deflate, br");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(js, "Content-Encoding"), "gzip");
  EXPECT_LT(js.body.size(), 1000u);
  EXPECT_EQ(Gunzip(js.body), (*assets)->Find("app.js")->body);
  RouteReply plain = ServeAsset(**assets, "/app/app.js", "", "gzip;q=0, identity");
  EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), "");
  EXPECT_EQ(plain.body, (*assets)->Find("app.js")->body);

  // A tiny file is not worth compressing.
  EXPECT_EQ(HeaderOf(ServeAsset(**assets, "/app/app.css", "", "gzip"), "Content-Encoding"), "");
}

TEST_F(WebAssetsTest, RevalidationAnswers304) {
  auto assets = WebAssets::Load(dir_.path());
  ASSERT_TRUE(assets.ok());
  RouteReply first = ServeAsset(**assets, "/app/app.js", "", "");
  const std::string etag = HeaderOf(first, "ETag");
  ASSERT_EQ(etag.size(), 26u);  // "24 hex digits"
  RouteReply again = ServeAsset(**assets, "/app/app.js", etag, "gzip");
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(ServeAsset(**assets, "/app/app.js", "W/" + etag, "").status, 304);
  EXPECT_EQ(ServeAsset(**assets, "/app/app.js", "\"other\"", "").status, 200);
  EXPECT_EQ(ServeAsset(**assets, "/app/app.js", "*", "").status, 304);
}

TEST_F(WebAssetsTest, NothingElseIsReachable) {
  auto assets = WebAssets::Load(dir_.path());
  ASSERT_TRUE(assets.ok());
  for (const char* path :
       {"/app/secret.key", "/app/.hidden.js", "/app/sub/inner.js", "/app/../app.js",
        "/app/%2e%2e/app.js", "/app/missing.js", "/app/app.js/"}) {
    EXPECT_EQ(ServeAsset(**assets, path, "", "").status, 404) << path;
  }
}

TEST_F(WebAssetsTest, RefusesADirectoryWithoutIndexOrMissing) {
  std::filesystem::remove(dir_.path() + "/index.html");
  auto no_index = WebAssets::Load(dir_.path());
  ASSERT_FALSE(no_index.ok());
  EXPECT_NE(no_index.status().message().find("index.html"), std::string::npos);
  EXPECT_FALSE(WebAssets::Load(dir_.path() + "/nope").ok());
}

TEST(ContentTypeTest, OnlyKnownExtensions) {
  EXPECT_EQ(ContentTypeFor("a.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("a.exe"), "");
  EXPECT_EQ(ContentTypeFor("README"), "");
}

TEST(WebRoutesTest, RedirectsToTheApp) {
  auto routes = WebRoutes(nullptr);
  ASSERT_EQ(routes.size(), 3u);
  RouteReply got;
  routes[1].handler(RouteRequest{}, [&](RouteReply r) { got = std::move(r); });
  EXPECT_EQ(got.status, 301);
  EXPECT_EQ(HeaderOf(got, "Location"), "/app/");
}

}  // namespace
}  // namespace parley::web
