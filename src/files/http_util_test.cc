#include "files/http_util.h"

#include <gtest/gtest.h>

namespace parley::files {
namespace {

TEST(RangeTest, TakesOneRangeInEachForm) {
  bool bad = false;
  auto a = ParseRange("bytes=0-99", 1000, &bad);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->offset, 0u);
  EXPECT_EQ(a->length, 100u);
  auto b = ParseRange("bytes=900-", 1000, &bad);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->offset, 900u);
  EXPECT_EQ(b->length, 100u);
  auto c = ParseRange("bytes=-10", 1000, &bad);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->offset, 990u);
  EXPECT_EQ(c->length, 10u);
  auto d = ParseRange("bytes=990-5000", 1000, &bad);  // clipped to the end
  ASSERT_TRUE(d);
  EXPECT_EQ(d->length, 10u);
  auto e = ParseRange("bytes=-5000", 1000, &bad);  // a suffix longer than the file: all of it
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset, 0u);
  EXPECT_EQ(e->length, 1000u);
  EXPECT_FALSE(bad);
}

TEST(RangeTest, IgnoresWhatItDoesNotTakeAndRefusesPastTheEnd) {
  bool bad = false;
  EXPECT_FALSE(ParseRange("", 1000, &bad));
  EXPECT_FALSE(ParseRange("items=0-1", 1000, &bad));
  EXPECT_FALSE(ParseRange("bytes=0-1,5-9", 1000, &bad));
  EXPECT_FALSE(ParseRange("bytes=9-1", 1000, &bad));
  EXPECT_FALSE(ParseRange("bytes=x-1", 1000, &bad));
  EXPECT_FALSE(ParseRange("bytes=-0", 1000, &bad));
  EXPECT_FALSE(ParseRange("bytes=99999999999999999999-", 1000, &bad));
  EXPECT_FALSE(bad);
  EXPECT_FALSE(ParseRange("bytes=1000-", 1000, &bad));
  EXPECT_TRUE(bad);
}

TEST(ContentTypeTest, OnlyHarmlessTypesAreKept) {
  EXPECT_EQ(SafeContentType("image/png"), "image/png");
  EXPECT_EQ(SafeContentType("IMAGE/JPEG; charset=x"), "image/jpeg");
  EXPECT_EQ(SafeContentType("audio/ogg"), "audio/ogg");
  EXPECT_EQ(SafeContentType("application/pdf"), "application/pdf");
  EXPECT_EQ(SafeContentType("text/html"), "application/octet-stream");
  EXPECT_EQ(SafeContentType("image/svg+xml"), "application/octet-stream");
  // Found by fuzz/files_http_fuzz.cc: control characters went out in the header.
  EXPECT_EQ(SafeContentType("video/mp4\r\nSet-Cookie:a=b"), "application/octet-stream");
  EXPECT_EQ(SafeContentType(std::string("audio/mp\x1f\0", 10)), "application/octet-stream");
  EXPECT_EQ(SafeContentType("video/"), "application/octet-stream");
  EXPECT_EQ(SafeContentType("video/x-matroska"), "video/x-matroska");
  EXPECT_EQ(SafeContentType("application/javascript"), "application/octet-stream");
  EXPECT_EQ(SafeContentType("text/plain"), "application/octet-stream");
  EXPECT_TRUE(ShownInline("image/png"));
  EXPECT_FALSE(ShownInline("application/pdf"));
}

TEST(ContentDispositionTest, NamesAreQuotedSafely) {
  EXPECT_EQ(ContentDisposition(false, "a b.txt"),
            "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt");
  // Quotes, semicolons and non-ASCII never reach the plain name.
  EXPECT_EQ(ContentDisposition(true, "x\";y.png"),
            "inline; filename=\"x__y.png\"; filename*=UTF-8''x%22%3By.png");
  EXPECT_EQ(ContentDisposition(false, "\xE7\x85\xA7.jpg"),
            "attachment; filename=\"___.jpg\"; filename*=UTF-8''%E7%85%A7.jpg");
}

TEST(BearerTest, ReadsTheToken) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer "), "");
}

TEST(ErrorReplyTest, CarriesCodeAndRequestId) {
  RouteReply r = StatusReply(Status(Code::kNotMember, "not a member"), "rid-1");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("\"error\":\"not_member\""), std::string::npos);
  EXPECT_NE(r.body.find("\"request_id\":\"rid-1\""), std::string::npos);
  RouteRequest req;
  req.headers = {{"x-request-id", "abc-1"}};
  EXPECT_EQ(RequestIdOf(req), "abc-1");
  req.headers = {{"X-Request-Id", "has space"}};
  EXPECT_NE(RequestIdOf(req), "has space");
}

}  // namespace
}  // namespace parley::files
