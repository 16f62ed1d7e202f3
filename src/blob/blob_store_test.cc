// One suite for every BlobStore: the local directory and S3 on a real radosgw (which
// checks our SigV4 signatures). S3-only cases (presigned URLs, a wrong secret) follow.
#include "blob/blob_store.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <random>

#include "blob/s3_blob_store.h"
#include "client/http_request.h"
#include "tests/support/radosgw_server.h"
#include "tests/support/temp_dir.h"

namespace parley::blob {
namespace {

enum class Kind { kLocal, kS3 };

std::string Bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A bucket name of its own per test (S3's rules: lower case, digits, '-').
std::string BucketFor(const ::testing::TestInfo* info) {
  std::string name = "t-" + std::to_string(::getpid()) + "-";
  for (char c : std::string(info->name())) {
    if (std::isalnum(static_cast<unsigned char>(c))) name += static_cast<char>(std::tolower(c));
    if (name.size() >= 60) break;
  }
  return name;
}

class BlobStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    if (GetParam() == Kind::kLocal) {
      auto s = OpenLocalBlobStore(dir_.Sub("blobs"));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(*s);
      return;
    }
    auto gw = test::RadosGw::Shared();
    ASSERT_TRUE(gw.ok()) << gw.status().ToString();
    config_ = (*gw)->Config(BucketFor(::testing::UnitTest::GetInstance()->current_test_info()));
    auto client = s3::S3Client::Create(config_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    Status made = (*client)->CreateBucket();
    ASSERT_TRUE(made.ok()) << made.ToString();
    auto s = OpenS3BlobStore(config_, "parley/");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  test::TempDir dir_{"parley-blob-"};
  s3::S3Config config_;
  std::unique_ptr<BlobStore> store_;
};

TEST_P(BlobStoreTest, PutGetHeadListDelete) {
  const std::string data = Bytes(100000, 1);
  ASSERT_TRUE(store_->Put("att/ab/one", data).ok());
  ASSERT_TRUE(store_->Put("att/cd/two", "2").ok());
  ASSERT_TRUE(store_->Put("other/three", "3").ok());
  auto got = store_->Get("att/ab/one", {}, 1 << 20);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  auto head = store_->Head("att/ab/one");
  ASSERT_TRUE(head.ok() && head->has_value()) << head.status().ToString();
  EXPECT_EQ((*head)->size, data.size());
  auto none = store_->Head("att/ab/none");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(store_->Get("att/ab/none", {}, 10).status().code(), Code::kNotFound);
  auto listed = store_->List("att/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<std::string>{"att/ab/one", "att/cd/two"}));
  ASSERT_TRUE(store_->Delete("att/ab/one").ok());
  ASSERT_TRUE(store_->Delete("att/ab/one").ok());  // absent: still ok
  EXPECT_FALSE(store_->Head("att/ab/one")->has_value());
  // Overwrite replaces.
  ASSERT_TRUE(store_->Put("att/cd/two", "22").ok());
  EXPECT_EQ(*store_->Get("att/cd/two", {}, 10), "22");
}

TEST_P(BlobStoreTest, RangesAndLimits) {
  const std::string data = Bytes(1000, 2);
  ASSERT_TRUE(store_->Put("r", data).ok());
  EXPECT_EQ(*store_->Get("r", {10, 20}, 100), data.substr(10, 20));
  EXPECT_EQ(*store_->Get("r", {990, 0}, 100), data.substr(990));
  EXPECT_EQ(*store_->Get("r", {995, 100}, 100), data.substr(995));  // clipped at the end
  EXPECT_EQ(store_->Get("r", {1000, 0}, 100).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->Get("r", {5000, 10}, 100).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(store_->Get("r", {}, 999).ok());  // over max_bytes
  // Streaming: the pieces add up, and a sink's error stops the read with that error.
  std::string streamed;
  ASSERT_TRUE(store_
                  ->Read("r", {100, 500},
                         [&](std::string_view p) {
                           streamed.append(p);
                           return Status::Ok();
                         })
                  .ok());
  EXPECT_EQ(streamed, data.substr(100, 500));
  Status stopped = store_->Read(
      "r", {}, [](std::string_view) { return Status(Code::kUnavailable, "client went away"); });
  EXPECT_EQ(stopped.code(), Code::kUnavailable);
}

TEST_P(BlobStoreTest, MultipartJoinsPartsInOrderAndAbortLeavesNothing) {
  const std::string a = Bytes(BlobStore::kMinPartBytes, 3), b = Bytes(12345, 4);
  auto upload = store_->StartMultipart("big/object");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  // Parts may arrive out of order and be replaced before completion.
  auto p2 = store_->PutPart("big/object", *upload, 2, "stale");
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  p2 = store_->PutPart("big/object", *upload, 2, b);
  auto p1 = store_->PutPart("big/object", *upload, 1, a);
  ASSERT_TRUE(p1.ok() && p2.ok()) << p1.status().ToString() << p2.status().ToString();
  EXPECT_FALSE(store_->Head("big/object")->has_value()) << "visible before completion";
  Status done = store_->CompleteMultipart("big/object", *upload, {*p1, *p2});
  ASSERT_TRUE(done.ok()) << done.ToString();
  auto got = store_->Get("big/object", {}, 16 << 20);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == a + b) << "joined object differs";

  auto aborted = store_->StartMultipart("big/aborted");
  ASSERT_TRUE(aborted.ok());
  ASSERT_TRUE(store_->PutPart("big/aborted", *aborted, 1, "x").ok());
  ASSERT_TRUE(store_->AbortMultipart("big/aborted", *aborted).ok());
  EXPECT_FALSE(store_->Head("big/aborted")->has_value());
  EXPECT_FALSE(store_->CompleteMultipart("big/aborted", *aborted, {"1:1"}).ok());

  // A small part that is not the last is refused, and nothing appears.
  auto small = store_->StartMultipart("big/small");
  ASSERT_TRUE(small.ok());
  auto s1 = store_->PutPart("big/small", *small, 1, "tiny");
  auto s2 = store_->PutPart("big/small", *small, 2, "tail");
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_FALSE(store_->CompleteMultipart("big/small", *small, {*s1, *s2}).ok());
  EXPECT_FALSE(store_->Head("big/small")->has_value());
  store_->AbortMultipart("big/small", *small).IgnoreError();
}

// The order UploadManager sends in — 1, 2, 3… — with the retries a lost answer causes: the
// last part again (other bytes), and an earlier part again after a later one.
TEST_P(BlobStoreTest, MultipartInOrderWithRetriedParts) {
  const std::string a = Bytes(BlobStore::kMinPartBytes, 5), a2 = Bytes(BlobStore::kMinPartBytes, 6);
  const std::string b = Bytes(BlobStore::kMinPartBytes, 7), c = Bytes(777, 8);
  auto upload = store_->StartMultipart("seq/object");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  auto p1 = store_->PutPart("seq/object", *upload, 1, a);
  auto p2 = store_->PutPart("seq/object", *upload, 2, "a shorter stale tail");
  p2 = store_->PutPart("seq/object", *upload, 2, b);  // the last part, sent again
  auto p3 = store_->PutPart("seq/object", *upload, 3, c);
  p1 = store_->PutPart("seq/object", *upload, 1, a2);  // an earlier part, replaced
  ASSERT_TRUE(p1.ok() && p2.ok() && p3.ok());
  ASSERT_TRUE(store_->CompleteMultipart("seq/object", *upload, {*p1, *p2, *p3}).ok());
  auto got = store_->Get("seq/object", {}, 32 << 20);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == a2 + b + c) << "joined object differs";

  // Strictly in order: completes the same way, and a part listed with another size is
  // refused.
  auto second = store_->StartMultipart("seq/second");
  ASSERT_TRUE(second.ok());
  auto q1 = store_->PutPart("seq/second", *second, 1, a);
  auto q2 = store_->PutPart("seq/second", *second, 2, c);
  ASSERT_TRUE(q1.ok() && q2.ok());
  EXPECT_FALSE(store_->CompleteMultipart("seq/second", *second, {*q1, "2:5"}).ok());
  ASSERT_TRUE(store_->CompleteMultipart("seq/second", *second, {*q1, *q2}).ok());
  auto again = store_->Get("seq/second", {}, 32 << 20);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == a + c);
  EXPECT_EQ(*store_->List("seq/"), (std::vector<std::string>{"seq/object", "seq/second"}));
}

TEST_P(BlobStoreTest, KeysThatCouldEscapeAreRefused) {
  for (const char* bad : {"", "/abs", "../x", "a/../b", "a//b", "a/./b", ".hidden", "a/.tmp"}) {
    EXPECT_EQ(store_->Put(bad, "x").code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Get(bad, {}, 10).status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(store_->Delete(bad).code(), Code::kInvalidArgument) << bad;
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, BlobStoreTest, ::testing::Values(Kind::kLocal, Kind::kS3),
                         [](const auto& param_info) {
                           return std::string(param_info.param == Kind::kLocal ? "Local" : "S3");
                         });

// ---- S3 only ----

class S3OnlyTest : public BlobStoreTest {};

// Splits "http://host:port/path?query" for the test's HTTP client.
client::HttpRequestSpec Fetch(const std::string& url) {
  client::HttpRequestSpec spec;
  const size_t host_at = url.find("://") + 3;
  const size_t path_at = url.find('/', host_at);
  const std::string host_port = url.substr(host_at, path_at - host_at);
  spec.host = host_port.substr(0, host_port.find(':'));
  spec.port = static_cast<uint16_t>(std::stoi(host_port.substr(host_port.find(':') + 1)));
  spec.path = url.substr(path_at);
  return spec;
}

TEST_P(S3OnlyTest, PresignedGetServesTheObjectWithTheRequestedHeaders) {
  const std::string data = Bytes(5000, 5);
  ASSERT_TRUE(store_->Put("att/photo", data).ok());
  auto url = store_->PresignGet("att/photo", std::chrono::seconds(300), "image/png",
                                "attachment; filename=\"a b.png\"");
  ASSERT_TRUE(url.has_value());
  auto got = client::HttpRequest(Fetch(*url));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->status, 200) << got->body;
  EXPECT_TRUE(got->body == data);
  // Tampering with the URL breaks the signature.
  std::string forged = *url;
  forged.replace(forged.find("att/photo"), 9, "att/other");
  auto refused = client::HttpRequest(Fetch(forged));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403) << refused->body;
}

TEST_P(S3OnlyTest, AWrongSecretIsAClearPermissionError) {
  s3::S3Config wrong = config_;
  wrong.credentials.secret_key += "x";
  auto store = OpenS3BlobStore(wrong, "parley/");
  ASSERT_TRUE(store.ok());
  Status st = (*store)->Put("att/x", "x");
  EXPECT_EQ(st.code(), Code::kPermissionDenied) << st.ToString();
  EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st.ToString();
  auto unreachable = s3::S3Config(config_);
  unreachable.endpoint = "http://127.0.0.1:1";
  auto gone = OpenS3BlobStore(unreachable, "");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ((*gone)->Put("att/x", "x").code(), Code::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(Stores, S3OnlyTest, ::testing::Values(Kind::kS3),
                         [](const auto&) { return std::string("S3"); });

}  // namespace
}  // namespace parley::blob
