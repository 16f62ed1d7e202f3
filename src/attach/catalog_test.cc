// The attachment catalog on the local store, with a clock the test moves: references,
// quota usage, and what the collector removes when.
#include "attach/catalog.h"

#include <gtest/gtest.h>

#include "attach/upload_manager.h"
#include "tests/support/temp_dir.h"

namespace parley::attach {
namespace {

constexpr int64_t kHour = 3600 * 1000;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = blob::OpenLocalBlobStore(dir_.Sub("blobs"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    catalog_ = std::make_unique<AttachmentCatalog>(store_.get(), [this] { return now_; });
  }

  // An attachment of `user` whose bytes (named by `sha`) are stored.
  AttachmentRecord Add(UserId user, const std::string& sha, uint64_t size) {
    EXPECT_TRUE(store_->Put(AttachmentKey(sha), std::string(size, 'b')).ok());
    EXPECT_TRUE(store_->Put(ThumbnailKey(sha), "thumb").ok());
    AttachmentRecord r;
    r.id = NewAttachmentId();
    r.conv = 5;
    r.owner = user;
    r.name = "f.bin";
    r.mime = "application/octet-stream";
    r.sha256 = sha;
    r.size = size;
    r.created_ms = now_;
    EXPECT_TRUE(catalog_->Add(r).ok());
    return r;
  }
  bool Stored(const std::string& sha) {
    auto h = store_->Head(AttachmentKey(sha));
    return h.ok() && h->has_value();
  }

  test::TempDir dir_;
  std::unique_ptr<blob::BlobStore> store_;
  std::unique_ptr<AttachmentCatalog> catalog_;
  int64_t now_ = 1'000'000'000'000;
  CollectPolicy policy_{24 * kHour, 30 * 24 * kHour};
  const std::string sha_a_ = std::string(64, 'a'), sha_b_ = std::string(64, 'b');
};

TEST_F(CatalogTest, ReferencesCountOncePerMessageAndUsageSumsSizes) {
  AttachmentRecord a = Add(7, sha_a_, 100), b = Add(7, sha_b_, 50);
  Add(8, sha_a_, 100);
  EXPECT_EQ(*catalog_->UsageOf(7), 150u);
  EXPECT_EQ(*catalog_->UsageOf(8), 100u);
  EXPECT_EQ(*catalog_->UsageOf(9), 0u);
  ASSERT_TRUE(catalog_->Reference(a.id, "m1").ok());
  ASSERT_TRUE(catalog_->Reference(a.id, "m1").ok());  // a retried send
  auto twice = catalog_->Reference(a.id, "m2");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->refs, (std::vector<std::string>{"m1", "m2"}));
  ASSERT_TRUE(catalog_->Unreference(a.id, "m1").ok());
  ASSERT_TRUE(catalog_->Unreference(a.id, "nope").ok());
  EXPECT_EQ(catalog_->Get(a.id)->refs, std::vector<std::string>{"m2"});
  EXPECT_EQ(catalog_->Get("zz").status().code(), Code::kNotFound);
  EXPECT_EQ(catalog_->Reference("0123456789abcdef0123456789abcdef", "m").status().code(),
            Code::kNotFound);
  (void)b;
}

TEST_F(CatalogTest, CollectsUnsentAfterTheTtlAndRecalledAfterRetention) {
  AttachmentRecord unsent = Add(7, sha_a_, 10), sent = Add(7, sha_b_, 20);
  ASSERT_TRUE(catalog_->Reference(sent.id, "m1").ok());
  now_ += 23 * kHour;
  EXPECT_EQ(catalog_->Collect(policy_)->attachments, 0u);
  now_ += 2 * kHour;
  auto first = catalog_->Collect(policy_);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->attachments, 1u);
  EXPECT_EQ(first->blobs, 1u);
  EXPECT_EQ(catalog_->Get(unsent.id).status().code(), Code::kNotFound);
  EXPECT_FALSE(Stored(sha_a_));
  EXPECT_EQ(*catalog_->UsageOf(7), 20u);

  // Referenced: kept however old. Recalled: kept for the retention, then gone with its bytes.
  now_ += 365 * 24 * kHour;
  EXPECT_EQ(catalog_->Collect(policy_)->attachments, 0u);
  ASSERT_TRUE(catalog_->Unreference(sent.id, "m1").ok());
  now_ += 29 * 24 * kHour;
  EXPECT_EQ(catalog_->Collect(policy_)->attachments, 0u);
  EXPECT_TRUE(Stored(sha_b_));
  now_ += 2 * 24 * kHour;
  EXPECT_EQ(catalog_->Collect(policy_)->attachments, 1u);
  EXPECT_FALSE(Stored(sha_b_));
  auto thumb = store_->Head(ThumbnailKey(sha_b_));
  EXPECT_TRUE(thumb.ok() && !thumb->has_value());
}

TEST_F(CatalogTest, SharedBytesStayWhileAnyAttachmentUsesThem) {
  AttachmentRecord one = Add(7, sha_a_, 10), two = Add(8, sha_a_, 10);
  ASSERT_TRUE(catalog_->Reference(two.id, "m").ok());
  now_ += 48 * kHour;
  auto r = catalog_->Collect(policy_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->attachments, 1u);
  EXPECT_EQ(r->blobs, 0u);
  EXPECT_TRUE(Stored(sha_a_));
  EXPECT_TRUE(catalog_->Get(two.id).ok());
  (void)one;
}

TEST_F(CatalogTest, AddRefusesBytesThatAreGone) {
  AttachmentRecord r;
  r.id = NewAttachmentId();
  r.sha256 = std::string(64, 'c');
  r.size = 5;
  EXPECT_EQ(catalog_->Add(r).code(), Code::kUnavailable);
  EXPECT_EQ(catalog_->Get(r.id).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace parley::attach
