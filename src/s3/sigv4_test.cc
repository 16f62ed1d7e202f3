// The examples AWS publishes for S3's Signature Version 4 ("Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk" and "Authenticating
// Requests: Using Query Parameters"), plus multipart requests whose valueless query keys
// libcurl signs wrongly, with signatures computed by botocore.
#include "s3/sigv4.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace parley::s3 {
namespace {

const Credentials kAws{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";

Scope Example() {
  Scope s;
  s.amz_date = "20130524T000000Z";
  return s;
}

std::string SignatureOf(const std::string& authorization) {
  return authorization.substr(authorization.find("Signature=") + 10);
}

class SigV4Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(SigV4Test, GetObjectWithRange) {
  Request r;
  r.path = "/test.txt";
  r.headers = {{"Host", kHost}, {"Range", "bytes=0-9"}};
  std::string auth = SignHeaders(&r, kAws, Example());
  std::string signed_headers;
  EXPECT_EQ(CanonicalRequest(r, &signed_headers),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
            "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_F(SigV4Test, PutObjectWithPayloadAndAnEncodedName) {
  const std::string body = "Welcome to Amazon S3.";
  Request r;
  r.method = "PUT";
  r.path = "/test$file.text";
  r.headers = {{"Host", kHost},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  r.payload_sha256 = Sha256Hex(body);
  EXPECT_EQ(r.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(SignatureOf(SignHeaders(&r, kAws, Example())),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_F(SigV4Test, GetBucketLifecycleWithAValuelessQueryKey) {
  Request r;
  r.path = "/";
  r.query = {{"lifecycle", ""}};
  r.headers = {{"Host", kHost}};
  EXPECT_EQ(SignatureOf(SignHeaders(&r, kAws, Example())),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_F(SigV4Test, ListObjectsWithAnUnsortedQuery) {
  Request r;
  r.path = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};
  r.headers = {{"Host", kHost}};
  EXPECT_EQ(SignatureOf(SignHeaders(&r, kAws, Example())),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_F(SigV4Test, PresignedGet) {
  Request r;
  r.path = "/test.txt";
  r.headers = {{"Host", kHost}};
  EXPECT_EQ(PresignQuery(&r, kAws, Example(), 86400),
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
            "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
            "X-Amz-SignedHeaders=host&X-Amz-Signature="
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST_F(SigV4Test, EncodingKeepsUnreservedCharactersOnly) {
  EXPECT_EQ(UriEncode("a-b_c.d~e/f g+h=i&j%k", true), "a-b_c.d~e/f%20g%2Bh%3Di%26j%25k");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xe4\xbd\xa0", false), "%E4%BD%A0");
  EXPECT_EQ(AmzDate(1369353600), "20130524T000000Z");
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
}

}  // namespace
}  // namespace parley::s3
