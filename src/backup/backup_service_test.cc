// Backups of a live store: taken while messages are being sent, restored into a fresh
// directory that opens as a store holding every message the backup held.
#include "backup/backup_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "blob/blob_store.h"
#include "store/rocks_store.h"
#include "tests/support/core_test.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;

class BackupServiceTest : public test::CoreTest {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "-" + name; }
  void TearDown() override {
    for (const char* n : {"target", "restored", "restored2", "key", "attachments"}) {
      fs::remove_all(Path(n));
    }
    CoreTest::TearDown();
  }
  // The core's store as the embedded engine it is (CoreTest opens a RocksStore).
  CheckpointSource* Checkpoints() {
    auto* checkpoints = dynamic_cast<CheckpointSource*>(&core().store());
    EXPECT_NE(checkpoints, nullptr);
    return checkpoints;
  }
  std::unique_ptr<BackupService> Service(BackupConfig config) {
    config.target = Path("target");
    std::vector<std::string>* log = &audit_;
    auto s = BackupService::Open(core().store(), Checkpoints(), dir_.path(), config,
                                 [log](const std::string& line) { log->push_back(line); });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::vector<std::string> audit_;
};

TEST_F(BackupServiceTest, AStoreWithoutCheckpointsHasNoOnlineBackup) {
  BackupConfig config;
  config.target = Path("target");
  auto s = BackupService::Open(core().store(), nullptr, dir_.path(), config, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("no online backups"), std::string::npos)
      << s.status().ToString();
  EXPECT_FALSE(fs::exists(Path("target")));  // refused before touching the target
}

TEST_F(BackupServiceTest, BackupUnderConcurrentSendsRestoresEveryAcknowledgedMessage) {
  auto users = MakeUsers(3);  // users[2] only reads
  auto conv = core().conversations().CreateGroup(users[0], "g", {users[1], users[2]});
  ASSERT_TRUE(conv.ok());
  for (int i = 0; i < 200; ++i) Send(test::Id(users[0]), conv->id, test::Cat("before ", i));
  ASSERT_TRUE(core().messages().MarkReadSync(test::Id(users[2]), conv->id, 150).ok());

  std::ofstream(Path("key")) << NewKeyHex() << "\n";
  fs::permissions(Path("key"), fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);  // LoadKey refuses a key others can read
  BackupConfig config;
  config.key_file = Path("key");
  auto service = Service(config);
  ASSERT_TRUE(service);
  std::atomic<bool> sending{true};
  std::atomic<int> sent_during{0};
  std::thread writer([&] {
    for (int i = 0; i < 2000 && sending; ++i) {
      Send(test::Id(users[1]), conv->id, test::Cat("during ", i));
      ++sent_during;
    }
  });
  auto manifest = service->Run(/*full=*/true);
  sending = false;
  writer.join();
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_TRUE(manifest->encrypted);
  EXPECT_EQ(service->stats().successes, 1u);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_NE(audit_[0].find(manifest->id), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_.path() + "/backup-snapshot"));

  // Restore with the key and open the copy as a store.
  auto key = LoadKey(Path("key"));
  ASSERT_TRUE(key.ok());
  auto target = OpenDirTarget(Path("target"));
  ASSERT_TRUE(target.ok());
  ASSERT_TRUE(Restore(**target, manifest->id, Path("restored"), *key).ok());
  auto restored = OpenRocksStore(Path("restored"));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  const Seq head_restored = (*restored)->GetConvHead(conv->id)->last_seq;
  EXPECT_GE(head_restored, 200u);  // everything acknowledged before the backup began
  EXPECT_LE(head_restored, 200u + static_cast<Seq>(sent_during.load()));
  for (Seq s = 1; s <= head_restored; ++s) {
    auto original = core().store().GetMessage(conv->id, s);
    auto copy = (*restored)->GetMessage(conv->id, s);
    ASSERT_TRUE(original.ok() && copy.ok()) << s;
    EXPECT_EQ(copy->body, original->body);
    EXPECT_EQ(copy->msg_id, original->msg_id);
    EXPECT_EQ(copy->server_ms, original->server_ms);
  }
  EXPECT_EQ(*(*restored)->GetReadCursor(users[2], conv->id), 150u);
  EXPECT_FALSE((*restored)->GetMessage(conv->id, head_restored + 1).ok());
  EXPECT_EQ(Restore(**target, manifest->id, Path("restored"), *key).code(),
            Code::kFailedPrecondition);  // not empty now
}

TEST_F(BackupServiceTest, AnIncrementalAfterOnePercentNewMessagesStoresLittle) {
  auto users = MakeUsers(2);
  auto conv = core().conversations().CreateGroup(users[0], "g", {users[1]});
  ASSERT_TRUE(conv.ok());
  // Enough that the write-ahead log outgrows what a checkpoint copies (8 MiB): the full
  // backup's checkpoint flushes, and the store is mostly immutable tables, as in production.
  constexpr int kMessages = 50'000;
  SendMany(test::Id(users[0]), conv->id, kMessages);
  auto service = Service(BackupConfig{});
  ASSERT_TRUE(service);
  auto full = service->Run(false);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->kind, "full");
  SendMany(test::Id(users[0]), conv->id, kMessages / 100);
  auto inc = service->Run(false);
  ASSERT_TRUE(inc.ok());
  EXPECT_EQ(inc->kind, "incremental");
  EXPECT_EQ(inc->parent, full->id);
  // The new messages are in the small log the checkpoint copied; the tables are reused
  // untouched. What is new is about 1% of the store, plus the small metadata files.
  EXPECT_LT(inc->new_bytes, full->new_bytes / 20) << inc->new_bytes << " vs " << full->new_bytes;
  auto target = OpenDirTarget(Path("target"));
  ASSERT_TRUE(Restore(**target, inc->id, Path("restored2"), std::nullopt).ok());
  auto restored = OpenRocksStore(Path("restored2"));
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ((*restored)->GetConvHead(conv->id)->last_seq, Seq{kMessages + kMessages / 100});
  EXPECT_EQ(service->List()->size(), 2u);
}

TEST_F(BackupServiceTest, RunsBackUpTheAttachmentStoreItWasGiven) {
  auto users = MakeUsers(2);
  auto conv = core().conversations().CreateGroup(users[0], "g", {users[1]});
  ASSERT_TRUE(conv.ok());
  Send(test::Id(users[0]), conv->id, "hello");
  auto blobs = blob::OpenLocalBlobStore(Path("attachments"));
  ASSERT_TRUE(blobs.ok());
  ASSERT_TRUE((*blobs)->Put("thumb/" + std::string(64, 'a') + ".webp", "thumbnail").ok());
  ASSERT_TRUE((*blobs)->Put("meta/att/0123.json", "{}").ok());
  ASSERT_TRUE((*blobs)->Put("uploads/0123/state", "in progress").ok());
  auto service = Service(BackupConfig{});
  ASSERT_TRUE(service);
  auto without = service->Run(false);
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_EQ(without->format, 2);
  service->SetAttachmentStore(blobs->get());
  auto with = service->Run(false);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->format, 4);
  EXPECT_EQ(with->blob_count, 2u);  // not the upload in progress
  EXPECT_NE(audit_.back().find("2 attachment objects of 11 bytes"), std::string::npos)
      << audit_.back();
  auto target = OpenDirTarget(Path("target"));
  ASSERT_TRUE(target.ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(ForEachBlob(**target, *with, std::nullopt, [&](const BlobEntry& b) {
                keys.push_back(b.key);
                return Status::Ok();
              }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"meta/att/0123.json",
                                            "thumb/" + std::string(64, 'a') + ".webp"}));
  ASSERT_TRUE(Restore(**target, with->id, Path("restored"), std::nullopt).ok());
  auto restored = blob::OpenLocalBlobStore(Path("restored") + "/attachments");
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*(*restored)->Get("meta/att/0123.json", {}, 100), "{}");
  EXPECT_FALSE(*(*restored)->Head("uploads/0123/state"));
  service->SetAttachmentStore(nullptr);
}

}  // namespace
}  // namespace parley::backup
