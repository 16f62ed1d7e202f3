// Resumable uploads on both blob stores: the local directory and S3 on a real radosgw.
#include "attach/upload_manager.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <random>

#include "blob/s3_blob_store.h"
#include "s3/sigv4.h"
#include "tests/support/radosgw_server.h"
#include "tests/support/temp_dir.h"

namespace parley::attach {
namespace {

constexpr uint64_t kPart = blob::BlobStore::kMinPartBytes;

std::string Bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

UploadSpec Spec(const std::string& data, UserId user = 7) {
  return UploadSpec{user, 42, data.size(), s3::Sha256Hex(data), "application/pdf", "report.pdf"};
}

class UploadManagerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    if (!GetParam()) {
      auto s = blob::OpenLocalBlobStore(dir_.Sub("blobs"));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(*s);
    } else {
      auto gw = test::RadosGw::Shared();
      ASSERT_TRUE(gw.ok()) << gw.status().ToString();
      const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
      std::string bucket = "up-" + std::to_string(::getpid()) + "-";
      for (char c : std::string(info->name())) {
        if (std::isalnum(static_cast<unsigned char>(c)) && bucket.size() < 60) {
          bucket += static_cast<char>(std::tolower(c));
        }
      }
      auto config = (*gw)->Config(bucket);
      auto client = s3::S3Client::Create(config);
      ASSERT_TRUE(client.ok() && (*client)->CreateBucket().ok());
      auto s = blob::OpenS3BlobStore(config, "");
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(*s);
    }
    manager_ = NewManager();
  }
  std::unique_ptr<UploadManager> NewManager() {
    UploadLimits limits;
    limits.part_bytes = kPart;
    limits.max_file_bytes = 64ull << 20;
    return std::make_unique<UploadManager>(store_.get(), limits, [this] { return now_.load(); });
  }
  // Sends `data` from `from` to the end, part by part.
  void SendFrom(UploadManager& m, const std::string& id, const std::string& data, uint64_t from) {
    for (uint64_t at = from; at < data.size(); at += kPart) {
      auto next = m.Append(7, id, at, std::string_view(data).substr(at, kPart));
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      EXPECT_EQ(*next, std::min<uint64_t>(at + kPart, data.size()));
    }
  }

  test::TempDir dir_{"parley-upload-"};
  std::unique_ptr<blob::BlobStore> store_;
  std::unique_ptr<UploadManager> manager_;
  std::atomic<int64_t> now_{1'000'000};
};

TEST_P(UploadManagerTest, PartsResumeAfterARestartAndCompleteUnderTheContentAddress) {
  const std::string data = Bytes(2 * kPart + 12345, 1);
  auto up = manager_->Create(Spec(data));
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  ASSERT_TRUE(manager_->Append(7, up->id, 0, std::string_view(data).substr(0, kPart)).ok());
  // parleyd restarts (or the client comes back through another node): the offset is kept.
  manager_ = NewManager();
  auto state = manager_->Get(7, up->id);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->offset, kPart);
  SendFrom(*manager_, up->id, data, kPart);
  EXPECT_FALSE(store_->Head(AttachmentKey(Spec(data).sha256))->has_value())
      << "visible before completion";
  auto done = manager_->Complete(7, up->id);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_FALSE(done->deduplicated);
  EXPECT_EQ(done->key, AttachmentKey(Spec(data).sha256));
  auto stored = store_->Get(done->key, {}, 64 << 20);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(*stored == data);
  EXPECT_EQ(manager_->Get(7, up->id).status().code(), Code::kNotFound);  // the upload ended
  EXPECT_TRUE(store_->List("uploads/")->empty());
}

TEST_P(UploadManagerTest, WrongOffsetsSizesAndOwnersAreRefusedAndChangeNothing) {
  const std::string data = Bytes(kPart + 100, 2);
  auto up = manager_->Create(Spec(data));
  ASSERT_TRUE(up.ok());
  auto ahead = manager_->Append(7, up->id, kPart, std::string_view(data).substr(kPart));
  EXPECT_EQ(ahead.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(ahead.status().message().find("upload's 0"), std::string::npos);
  EXPECT_EQ(manager_->Append(7, up->id, 0, "short").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(manager_->Append(7, up->id, 0, data + "x").status().code(), Code::kTooLarge);
  EXPECT_EQ(manager_->Append(8, up->id, 0, data.substr(0, kPart)).status().code(),
            Code::kNotFound);  // another user's upload does not exist for him
  EXPECT_EQ(manager_->Get(7, "not-an-id").status().code(), Code::kNotFound);
  EXPECT_EQ(manager_->Complete(7, up->id).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(manager_->Get(7, up->id)->offset, 0u);
  // The part sent twice (the first answer lost): the second is refused, the offset moved.
  ASSERT_TRUE(manager_->Append(7, up->id, 0, std::string_view(data).substr(0, kPart)).ok());
  EXPECT_EQ(manager_->Append(7, up->id, 0, std::string_view(data).substr(0, kPart)).status().code(),
            Code::kFailedPrecondition);
  SendFrom(*manager_, up->id, data, kPart);
  EXPECT_TRUE(manager_->Complete(7, up->id).ok());
}

TEST_P(UploadManagerTest, AHashMismatchDiscardsTheUploadAndStoresNothing) {
  const std::string data = Bytes(100, 3);
  UploadSpec spec = Spec(data);
  spec.sha256 = s3::Sha256Hex("something else");
  auto up = manager_->Create(spec);
  ASSERT_TRUE(up.ok());
  SendFrom(*manager_, up->id, data, 0);
  auto done = manager_->Complete(7, up->id);
  EXPECT_EQ(done.status().code(), Code::kInvalidArgument);
  EXPECT_NE(done.status().message().find("hash to"), std::string::npos);
  EXPECT_FALSE(store_->Head(AttachmentKey(spec.sha256))->has_value());
  EXPECT_EQ(manager_->Get(7, up->id).status().code(), Code::kNotFound);
}

TEST_P(UploadManagerTest, TheSameBytesAreStoredOnceAndOnlyAfterTheyArrived) {
  const std::string data = Bytes(3000, 4);
  auto first = manager_->Create(Spec(data));
  ASSERT_TRUE(first.ok());
  SendFrom(*manager_, first->id, data, 0);
  ASSERT_FALSE(manager_->Complete(7, first->id)->deduplicated);
  // A second user declaring the same hash still has to send every byte.
  auto second = manager_->Create(Spec(data, 9));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(manager_->Complete(9, second->id).status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(manager_->Append(9, second->id, 0, data).ok());
  auto done = manager_->Complete(9, second->id);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->deduplicated);
  EXPECT_EQ(store_->List("att/")->size(), 1u);
}

TEST_P(UploadManagerTest, DeclarationsAreCheckedAndOldUploadsCollected) {
  UploadSpec bad = Spec("x");
  bad.size = 65ull << 20;
  EXPECT_EQ(manager_->Create(bad).status().code(), Code::kTooLarge);
  for (auto mutate : std::vector<std::function<void(UploadSpec&)>>{
           [](UploadSpec& s) { s.sha256 = "abc"; },
           [](UploadSpec& s) { s.sha256 = std::string(64, 'G'); },
           [](UploadSpec& s) { s.name = "../etc/passwd"; }, [](UploadSpec& s) { s.name = ""; },
           [](UploadSpec& s) { s.name = "a\nb"; }, [](UploadSpec& s) { s.mime = "text"; },
           [](UploadSpec& s) { s.mime = "text/html; charset=utf-8"; }}) {
    UploadSpec s = Spec("x");
    mutate(s);
    EXPECT_EQ(manager_->Create(s).status().code(), Code::kInvalidArgument);
  }
  // An empty file is a file.
  auto empty = manager_->Create(Spec(""));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  auto stored = manager_->Complete(7, empty->id);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->size, 0u);
  // Unfinished uploads expire after a day and are collected.
  auto stale = manager_->Create(Spec(Bytes(10, 5)));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(*manager_->CollectExpired(), 0u);
  now_ += 24LL * 3600 * 1000;
  EXPECT_EQ(manager_->Get(7, stale->id).status().code(), Code::kNotFound);
  EXPECT_EQ(*manager_->CollectExpired(), 1u);
  EXPECT_TRUE(store_->List("uploads/")->empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, UploadManagerTest, ::testing::Values(false, true),
                         [](const auto& param_info) {
                           return std::string(param_info.param ? "S3" : "Local");
                         });

}  // namespace
}  // namespace parley::attach
