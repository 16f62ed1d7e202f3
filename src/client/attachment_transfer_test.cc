// What of the attachment client can be checked without a server: URL derivation, header
// parsing, the mapping of error replies, the JSON of Attachment objects and message
// bodies, the upload journal and the file hash. The transfers themselves are exercised
// against a real parleyd in tests/attachments_cli_test.cc.
#include <gtest/gtest.h>

#include <fstream>

#include "client/attachment_info.h"
#include "client/attachment_transfer.h"
#include "client/connection.h"
#include "client/sha256_stream.h"
#include "client/transfer_http.h"
#include "client/upload_journal.h"
#include "tests/support/temp_dir.h"

namespace parley::client {
namespace {

TEST(TransferTarget, DerivedFromTheWebSocketUrl) {
  auto plain = TargetForServer("ws://127.0.0.1:7800/ws", "tok", "");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->base_url, "http://127.0.0.1:7800");
  EXPECT_EQ(plain->token, "tok");
  auto tls = TargetForServer("wss://chat.example.com/ws", "tok", "/ca.pem");
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->base_url, "https://chat.example.com:443");
  EXPECT_EQ(tls->ca_file, "/ca.pem");
  auto v6 = HttpBaseOf("ws://[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(*v6, "http://[::1]:9000");
  EXPECT_FALSE(TargetForServer("ftp://x", "tok", "").ok());
}

TEST(ContentRange, ParsesRangesAndUnsatisfiedForms) {
  auto r = ParseContentRange("bytes 100-199/1000");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start, 100);
  EXPECT_EQ(r->end, 199);
  EXPECT_EQ(r->size, 1000);
  auto unknown = ParseContentRange("bytes 0-9/*");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->size, -1);
  auto unsatisfied = ParseContentRange("bytes */512");
  ASSERT_TRUE(unsatisfied.ok());
  EXPECT_EQ(unsatisfied->start, -1);
  EXPECT_EQ(unsatisfied->size, 512);
  for (const char* bad : {"", "bytes", "bytes 5-4/10", "bytes 0-10/10", "items 0-1/2", "bytes */*",
                          "bytes -1-2/3", "bytes 1-2", "bytes a-b/c"}) {
    EXPECT_FALSE(ParseContentRange(bad).ok()) << bad;
  }
}

TEST(HttpErrors, MapTheServersErrorNames) {
  auto quota = StatusFromHttpError(
      507, R"({"error":"quota_exceeded","message":"over 100 MB","request_id":"r1"})");
  EXPECT_EQ(quota.code(), Code::kResourceExhausted);
  EXPECT_NE(quota.message().find("over 100 MB"), std::string::npos);
  EXPECT_NE(quota.message().find("quota_exceeded"), std::string::npos);
  EXPECT_NE(quota.message().find("r1"), std::string::npos);

  auto checksum = StatusFromHttpError(400, R"({"error":"checksum_mismatch","message":"m"})");
  EXPECT_EQ(checksum.code(), Code::kInvalidArgument);
  EXPECT_NE(checksum.message().find("checksum_mismatch"), std::string::npos);

  EXPECT_EQ(StatusFromHttpError(403, R"({"error":"not_member","message":"m"})").code(),
            Code::kNotMember);
  EXPECT_EQ(StatusFromHttpError(403, R"({"error":"permission_denied"})").code(),
            Code::kPermissionDenied);
  EXPECT_EQ(StatusFromHttpError(413, R"({"error":"too_large"})").code(), Code::kTooLarge);
  EXPECT_EQ(StatusFromHttpError(401, R"({"error":"unauthenticated"})").code(),
            Code::kUnauthenticated);
  EXPECT_EQ(StatusFromHttpError(404, R"({"error":"not_found"})").code(), Code::kNotFound);
  EXPECT_EQ(StatusFromHttpError(409, R"({"error":"offset_mismatch","offset":5})").code(),
            Code::kFailedPrecondition);
}

TEST(HttpErrors, FallBackOnTheStatusForForeignBodies) {
  auto proxy = StatusFromHttpError(502, "<html>Bad Gateway</html>");
  EXPECT_EQ(proxy.code(), Code::kUnavailable);
  EXPECT_FALSE(IsTransportError(proxy));  // the server answered: not "cannot connect"
  EXPECT_EQ(StatusFromHttpError(507, "").code(), Code::kResourceExhausted);
  EXPECT_EQ(StatusFromHttpError(403, "").code(), Code::kPermissionDenied);
  EXPECT_EQ(StatusFromHttpError(418, "").code(), Code::kInternal);
  EXPECT_TRUE(IsRetryableHttp(503));
  EXPECT_TRUE(IsRetryableHttp(429));
  EXPECT_FALSE(IsRetryableHttp(404));
}

TEST(AttachmentJson, ParsesTheAttachmentObject) {
  auto a = ParseAttachmentInfo(
      R"({"id":"0123456789abcdef0123456789abcdef","conv":7,"owner":3,"name":"beach.jpg",)"
      R"("mime":"image/jpeg","size":1234567,"sha256":"ab","kind":"image","width":640,)"
      R"("height":480,"thumbnail":true,"preview":"AAA","created_ts":1763900000123,"new":1})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->conv, 7u);
  EXPECT_EQ(a->owner, 3u);
  EXPECT_EQ(a->name, "beach.jpg");
  EXPECT_EQ(a->size, 1234567u);
  EXPECT_EQ(a->kind, "image");
  EXPECT_EQ(a->width, 640);
  EXPECT_TRUE(a->thumbnail);
  EXPECT_EQ(a->created_ts, 1763900000123);
  EXPECT_FALSE(ParseAttachmentInfo(R"({"name":"x"})").ok());
  EXPECT_FALSE(ParseAttachmentInfo("not json").ok());
}

TEST(AttachmentJson, MessageBodiesBothWays) {
  auto body = ParseAttachmentBody(
      R"({"attachments":[{"id":"0123456789abcdef0123456789abcdef","size":5,"name":"a.txt"}],)"
      R"("caption":"look"})");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  ASSERT_EQ(body->attachments.size(), 1u);
  EXPECT_EQ(body->attachments[0].name, "a.txt");
  EXPECT_EQ(body->caption, "look");
  EXPECT_FALSE(ParseAttachmentBody(R"({"attachments":["0123"]})").ok());  // ids: not stored form
  EXPECT_EQ(AttachmentSendBody({"ab", "cd"}, "hi \"you\""),
            R"({"attachments":["ab","cd"],"caption":"hi \"you\""})");
  EXPECT_EQ(AttachmentSendBody({"ab"}, ""), R"({"attachments":["ab"]})");
  EXPECT_TRUE(IsAttachmentId("0123456789abcdef0123456789ABCDEF"));
  EXPECT_FALSE(IsAttachmentId("../../../etc/passwd0123456789ab"));
  EXPECT_FALSE(IsAttachmentId("0123"));
}

TEST(UploadJournal, RemembersAndForgets) {
  test::TempDir dir;
  const std::string journal = dir.Sub("uploads");
  EXPECT_FALSE(LoadUploadEntry(journal, "abc").has_value());
  ASSERT_TRUE(SaveUploadEntry(journal, "abc", {"0123", "http://h:1", 9, "/tmp/f", 42}).ok());
  auto e = LoadUploadEntry(journal, "abc");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->upload_id, "0123");
  EXPECT_EQ(e->server, "http://h:1");
  EXPECT_EQ(e->conv, 9u);
  EXPECT_EQ(e->size, 42u);
  RemoveUploadEntry(journal, "abc");
  EXPECT_FALSE(LoadUploadEntry(journal, "abc").has_value());
  std::ofstream(journal + "/bad.json") << R"({"upload_id":7})";
  EXPECT_FALSE(LoadUploadEntry(journal, "bad").has_value());  // damaged: ignored
}

TEST(Sha256, StreamAndFilePrefix) {
  Sha256Stream s;
  s.Update("ab");
  s.Update("c");
  EXPECT_EQ(s.FinishHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  test::TempDir dir;
  std::ofstream(dir.Sub("f")) << "abcdef";
  Sha256Stream f;
  ASSERT_TRUE(HashFilePrefix(dir.Sub("f"), 3, f).ok());
  EXPECT_EQ(f.FinishHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Stream g;
  EXPECT_EQ(HashFilePrefix(dir.Sub("f"), 7, g).code(), Code::kIOError);  // shorter
}

}  // namespace
}  // namespace parley::client
