// Backups of an attachment store (backup.h BlobEntry): its att/, thumb/ and meta/ objects
// are backed up with the store's files, incrementally, verified, and restored exactly.
#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "backup/backup.h"
#include "backup/backup_test_util.h"
#include "blob/blob_store.h"
#include "common/clock.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;
using testing::Entries;
using testing::ReadAll;
using testing::WriteAll;

std::string Random(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed = seed * 1103515245 + 12345) >> 16);
  return s;
}
std::string Sha256Hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return hex;
}
std::string AttKey(const std::string& sha) {
  return "att/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
}

// Key -> bytes of every object of `store` (uploads/ included: a restore must not make any).
std::map<std::string, std::string> Contents(blob::BlobStore& store) {
  std::map<std::string, std::string> out;
  for (const char* prefix : {"att/", "meta/", "thumb/", "uploads/"}) {
    auto keys = store.List(prefix);
    EXPECT_TRUE(keys.ok());
    for (const auto& key : *keys) {
      auto bytes = store.Get(key, {}, 64u << 20);
      EXPECT_TRUE(bytes.ok()) << key;
      out[key] = *bytes;
    }
  }
  return out;
}

// A BlobStore that records the keys read from it.
class ReadRecordingStore final : public blob::BlobStore {
 public:
  explicit ReadRecordingStore(blob::BlobStore& inner) : inner_(inner) {}
  std::string Describe() const override { return inner_.Describe(); }
  Status Put(const std::string& key, std::string_view data) override {
    return inner_.Put(key, data);
  }
  Result<std::string> Get(const std::string& key, blob::ByteRange range,
                          size_t max_bytes) override {
    Record(key);
    return inner_.Get(key, range, max_bytes);
  }
  Status Read(const std::string& key, blob::ByteRange range, const blob::Sink& sink) override {
    Record(key);
    return inner_.Read(key, range, sink);
  }
  Result<std::optional<blob::BlobInfo>> Head(const std::string& key) override {
    return inner_.Head(key);
  }
  Status Delete(const std::string& key) override { return inner_.Delete(key); }
  Result<std::vector<std::string>> List(const std::string& prefix) override {
    return inner_.List(prefix);
  }
  Result<std::string> StartMultipart(const std::string& key) override {
    return inner_.StartMultipart(key);
  }
  Result<std::string> PutPart(const std::string& key, const std::string& upload, int part,
                              std::string_view data) override {
    return inner_.PutPart(key, upload, part, data);
  }
  Status CompleteMultipart(const std::string& key, const std::string& upload,
                           const std::vector<std::string>& parts) override {
    return inner_.CompleteMultipart(key, upload, parts);
  }
  Status AbortMultipart(const std::string& key, const std::string& upload) override {
    return inner_.AbortMultipart(key, upload);
  }
  std::optional<std::string> PresignGet(const std::string& key, std::chrono::seconds ttl,
                                        std::string_view type,
                                        std::string_view disposition) const override {
    return inner_.PresignGet(key, ttl, type, disposition);
  }
  Status CleanUp() override { return inner_.CleanUp(); }

  std::set<std::string> read() {
    std::lock_guard<std::mutex> lock(mu_);
    return read_;
  }

 private:
  void Record(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    read_.insert(key);
  }
  blob::BlobStore& inner_;
  std::mutex mu_;
  std::set<std::string> read_;
};

class BackupBlobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    root_ = fs::temp_directory_path() / ("parley-backup-blobs-test-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(randombytes_random()));
    data_ = root_ / "data";
    auto t = OpenDirTarget((root_ / "target").string());
    ASSERT_TRUE(t.ok());
    target_ = std::move(*t);
    auto b = blob::OpenLocalBlobStore((root_ / "live-attachments").string());
    ASSERT_TRUE(b.ok());
    live_ = std::move(*b);
    WriteAll(data_ / "000010.sst", Random(300'000, 1));
    WriteAll(data_ / "CURRENT", "MANIFEST-000005\n");
    options_.chunk_bytes = 64 << 10;
    options_.blobs = live_.get();
    // Three attachments, two larger than a chunk; and an upload in progress.
    AddAttachment(Random(200'000, 11));
    AddAttachment(Random(10'000, 12));
    AddAttachment(Random(150'000, 13));
    ASSERT_TRUE(live_->Put("uploads/0123/state.json", "{\"part\":1}").ok());
  }
  void TearDown() override { fs::remove_all(root_); }

  // An attachment as the catalog stores it: bytes, thumbnail, record and index objects.
  std::string AddAttachment(const std::string& bytes) {
    const std::string sha = Sha256Hex(bytes);
    const std::string id = sha.substr(0, 32);
    EXPECT_TRUE(live_->Put(AttKey(sha), bytes).ok());
    EXPECT_TRUE(live_->Put("thumb/" + sha + ".webp", "webp" + sha).ok());
    EXPECT_TRUE(live_->Put("meta/att/" + id + ".json", "{\"sha256\":\"" + sha + "\"}").ok());
    EXPECT_TRUE(live_->Put("meta/sha/" + sha + "/" + id, "").ok());
    EXPECT_TRUE(live_->Put("meta/user/1/" + id + "." + std::to_string(bytes.size()), "").ok());
    return sha;
  }
  Manifest Backup(Target& target) {
    auto m = Create(data_.string(), target, options_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Manifest{};
  }
  Manifest Backup() { return Backup(*target_); }
  // The store files of a restored directory (attachments/ aside), with their bytes.
  static std::map<std::string, std::string> StoreFiles(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::end(it); ++it) {
      const std::string rel = fs::relative(it->path(), dir).string();
      if (rel == "attachments") {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) out[rel] = ReadAll(it->path());
    }
    return out;
  }
  std::map<std::string, std::string> RestoredAttachments(const fs::path& dir) {
    auto store = blob::OpenLocalBlobStore((dir / "attachments").string());
    EXPECT_TRUE(store.ok());
    return Contents(**store);
  }
  // The live contents as a backup holds them: without uploads/.
  std::map<std::string, std::string> Expected() {
    auto all = Contents(*live_);
    std::erase_if(all, [](const auto& kv) { return kv.first.starts_with("uploads/"); });
    return all;
  }
  std::string ChunkPath(const std::string& id) {
    return (root_ / "target" / "chunks" / id.substr(0, 2) / id).string();
  }
  // The entry of `key` in backup `m` (on target_, with the options' key), if it lists it.
  std::optional<BlobEntry> Find(const Manifest& m, const std::string& key) {
    for (auto& b : Entries(*target_, m, options_.key)) {
      if (b.key == key) return b;
    }
    return std::nullopt;
  }

  fs::path root_, data_;
  std::unique_ptr<Target> target_;
  std::unique_ptr<blob::BlobStore> live_;
  CreateOptions options_;
};

TEST_F(BackupBlobsTest, FullAndIncrementalBackupsRestoreTheStoreOfTheirMoment) {
  for (bool encrypted : {false, true}) {
    SCOPED_TRACE(encrypted ? "encrypted" : "plain");
    const fs::path at = root_ / (encrypted ? "enc" : "plain");
    if (encrypted) {
      Key k;
      k.fill(7);
      options_.key = k;
      options_.full = true;  // no chunk shared with the plain pass (and a full one)
    }
    const Manifest full = Backup();
    options_.full = false;
    EXPECT_EQ(full.format, 4);
    EXPECT_EQ(full.kind, "full");
    EXPECT_TRUE(full.blobs.empty());  // in its blob index
    const auto first = Expected();
    ASSERT_EQ(full.blob_count, first.size());
    ASSERT_EQ(Entries(*target_, full, options_.key).size(), first.size());
    EXPECT_TRUE(full.skipped_blobs.empty());
    uint64_t sizes = 0;
    for (const auto& [key, bytes] : first) {
      const auto b = Find(full, key);
      ASSERT_TRUE(b.has_value()) << key;
      EXPECT_EQ(b->size, bytes.size());
      EXPECT_EQ(b->sha256, key.starts_with("att/") ? key.substr(key.rfind('/') + 1) : "");
      sizes += bytes.size();
    }
    EXPECT_EQ(full.blob_bytes, sizes);
    // Every chunk is new: the store's, the objects' and the blob index's.
    EXPECT_EQ(full.new_bytes, full.bytes + full.blob_bytes + full.blob_index.size);

    // One more attachment and a changed record; the incremental reads no old att/ object
    // and uploads only the new bytes.
    const std::string added = AddAttachment(Random(100'000, encrypted ? 99 : 98));
    std::string some_record;
    for (const auto& [key, bytes] : first) {
      if (key.starts_with("meta/att/")) some_record = key;
    }
    ASSERT_TRUE(live_->Put(some_record, "{\"refs\":[\"m1\"]}").ok());
    ReadRecordingStore recording(*live_);
    options_.blobs = &recording;
    const Manifest inc = Backup();
    options_.blobs = live_.get();
    EXPECT_EQ(inc.kind, "incremental");
    EXPECT_EQ(inc.parent, full.id);
    const auto second = Expected();
    ASSERT_EQ(inc.blob_count, second.size());
    for (const auto& key : recording.read()) {
      EXPECT_FALSE(key.starts_with("att/") && key != AttKey(added)) << key << " read again";
    }
    EXPECT_TRUE(recording.read().count(AttKey(added)));
    EXPECT_TRUE(recording.read().count(some_record));  // meta/ objects are always read
    EXPECT_GE(inc.new_bytes, 100'000u);
    // The new objects and the changed record, and the new blob index.
    EXPECT_LT(inc.new_bytes, 100'000u + 4'000u + inc.blob_index.size);

    for (const Manifest* m : {&full, &inc}) {
      auto checks = Verify(*target_, m->id, options_.key);
      ASSERT_TRUE(checks.ok()) << checks.status().ToString();
      ASSERT_EQ(checks->size(), m->files.size() + m->blob_count);
      for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.path << c.status.ToString();
      EXPECT_EQ(checks->back().path,
                "attachments/" + Entries(*target_, *m, options_.key).back().key);
    }
    ASSERT_TRUE(Restore(*target_, full.id, (at / "full").string(), options_.key).ok());
    ASSERT_TRUE(Restore(*target_, inc.id, (at / "inc").string(), options_.key).ok());
    EXPECT_EQ(RestoredAttachments(at / "full"), first);
    EXPECT_EQ(RestoredAttachments(at / "inc"), second);
    EXPECT_NE(first, second);
    EXPECT_EQ(StoreFiles(at / "inc"), StoreFiles(data_));
    EXPECT_FALSE(fs::exists(at / "inc" / "attachments" / ".multipart"));
    // Or into a store of the caller's (an empty one), or without attachments.
    auto other = blob::OpenLocalBlobStore((at / "other-store").string());
    ASSERT_TRUE(other.ok());
    RestoreOptions into;
    into.blobs = other->get();
    ASSERT_TRUE(Restore(*target_, inc.id, (at / "into").string(), options_.key, into).ok());
    EXPECT_EQ(Contents(**other), second);
    EXPECT_FALSE(fs::exists(at / "into" / "attachments"));
    EXPECT_EQ(Restore(*target_, inc.id, (at / "into2").string(), options_.key, into).code(),
              Code::kFailedPrecondition);  // that store is not empty any more
    EXPECT_FALSE(fs::exists(at / "into2"));
    RestoreOptions skip;
    skip.skip_blobs = true;
    ASSERT_TRUE(Restore(*target_, inc.id, (at / "skip").string(), options_.key, skip).ok());
    EXPECT_FALSE(fs::exists(at / "skip" / "attachments"));
  }
}

TEST_F(BackupBlobsTest, ADamagedAttachmentChunkFailsVerifyAndRestoreNamingTheKey) {
  const Manifest m = Backup();
  std::string big;  // the 200,000-byte attachment
  for (const auto& b : Entries(*target_, m, std::nullopt)) {
    if (b.key.starts_with("att/") && b.size == 200'000) big = b.key;
  }
  ASSERT_FALSE(big.empty());
  const std::string chunk = ChunkPath(Find(m, big)->chunks.at(1));
  std::string sealed = ReadAll(chunk);
  sealed[sealed.size() / 2] ^= 0x20;
  WriteAll(chunk, sealed);
  auto checks = Verify(*target_, m.id, std::nullopt);
  ASSERT_TRUE(checks.ok());
  size_t bad = 0;
  for (const auto& c : *checks) {
    if (c.status.ok()) continue;
    ++bad;
    EXPECT_EQ(c.path, "attachments/" + big);
    EXPECT_EQ(c.status.code(), Code::kCorruption);
  }
  EXPECT_EQ(bad, 1u);
  const fs::path out = root_ / "restored";
  Status st = Restore(*target_, m.id, out.string(), std::nullopt);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find("attachments/" + big), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("nothing restored"), std::string::npos) << st.ToString();
  EXPECT_FALSE(fs::exists(out));
  // Into a store of the caller's: the damaged object is not written.
  auto other = blob::OpenLocalBlobStore((root_ / "other").string());
  ASSERT_TRUE(other.ok());
  RestoreOptions into;
  into.blobs = other->get();
  st = Restore(*target_, m.id, (root_ / "restored2").string(), std::nullopt, into);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_FALSE(*(*other)->Head(big));
  EXPECT_FALSE(fs::exists(root_ / "restored2"));
}

TEST_F(BackupBlobsTest, ADamagedAttachmentInTheStoreIsLeftOutAndNamed) {
  const std::string sha = AddAttachment(Random(5'000, 21));
  ASSERT_TRUE(live_->Put(AttKey(sha), "not the bytes its name hashes").ok());
  const Manifest m = Backup();
  ASSERT_EQ(m.skipped_blobs.size(), 1u);
  EXPECT_NE(m.skipped_blobs[0].find(AttKey(sha)), std::string::npos);
  EXPECT_FALSE(Find(m, AttKey(sha)).has_value());
  EXPECT_TRUE(Find(m, "thumb/" + sha + ".webp").has_value());
  ASSERT_TRUE(Restore(*target_, m.id, (root_ / "r").string(), std::nullopt).ok());
  auto expected = Expected();
  expected.erase(AttKey(sha));
  EXPECT_EQ(RestoredAttachments(root_ / "r"), expected);
}

TEST_F(BackupBlobsTest, BackupsWithoutAttachmentsRestoreAsBeforeAndChainWithNewOnes) {
  options_.blobs = nullptr;
  const Manifest old = Backup();
  EXPECT_EQ(old.format, 2);
  EXPECT_EQ(old.blob_count, 0u);
  ASSERT_TRUE(Restore(*target_, old.id, (root_ / "old").string(), std::nullopt).ok());
  EXPECT_FALSE(fs::exists(root_ / "old" / "attachments"));
  EXPECT_EQ(StoreFiles(root_ / "old"), StoreFiles(data_));
  // The first backup with attachments builds on it (the store's tables are not re-read).
  options_.blobs = live_.get();
  const Manifest next = Backup();
  EXPECT_EQ(next.kind, "incremental");
  EXPECT_EQ(next.new_bytes, next.blob_bytes + next.blob_index.size);
  ASSERT_TRUE(Restore(*target_, next.id, (root_ / "next").string(), std::nullopt).ok());
  EXPECT_EQ(RestoredAttachments(root_ / "next"), Expected());
  // Pruning the older one keeps every chunk the newer one needs (its attachments').
  auto pruned = Prune(*target_, Retention{1, 0}, std::nullopt, NowMillis());
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1u);
  auto checks = Verify(*target_, next.id, std::nullopt);
  ASSERT_TRUE(checks.ok());
  for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.path;
}

TEST_F(BackupBlobsTest, PruningKeepsTheChunksOfAttachmentsOnlyOlderBackupsUploaded) {
  const Manifest full = Backup();
  AddAttachment(Random(70'000, 31));
  const Manifest inc = Backup();
  ASSERT_EQ(inc.kind, "incremental");
  auto pruned = Prune(*target_, Retention{1, 0}, std::nullopt, NowMillis());
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1u);
  ASSERT_TRUE(Restore(*target_, inc.id, (root_ / "r").string(), std::nullopt).ok());
  EXPECT_EQ(RestoredAttachments(root_ / "r"), Expected());
  (void)full;
}

TEST_F(BackupBlobsTest, LargeAttachmentsAreRestoredInParts) {
  options_.chunk_bytes = 1 << 20;
  const std::string big = Random((17u << 20) + 12'345, 41);  // over kWholeBlobBytes
  const std::string sha = AddAttachment(big);
  const Manifest m = Backup();
  ASSERT_TRUE(Find(m, AttKey(sha)).has_value());
  EXPECT_EQ(Find(m, AttKey(sha))->chunks.size(), 18u);
  ASSERT_TRUE(Restore(*target_, m.id, (root_ / "r").string(), std::nullopt).ok());
  EXPECT_EQ(RestoredAttachments(root_ / "r"), Expected());
}

TEST_F(BackupBlobsTest, Format3BackupsWithInlineEntriesStillVerifyRestoreAndChain) {
  const Manifest m = Backup();
  const auto entries = Entries(*target_, m, std::nullopt);
  ASSERT_EQ(entries.size(), Expected().size());
  // The same backup as versions before the blob index wrote it; the newest on the target.
  const std::string id = testing::IdAt(m.created_ms - 1000);
  testing::Plant(*target_, id,
                 testing::AsFormat3(testing::ManifestJson(*target_, m.id, std::nullopt), entries),
                 std::nullopt);
  ASSERT_TRUE(target_->Remove("manifests/" + m.id).ok());
  auto old = Load(*target_, id, std::nullopt);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->format, 3);
  EXPECT_EQ(old->blob_count, entries.size());
  EXPECT_EQ(old->blob_bytes, m.blob_bytes);
  EXPECT_EQ(Entries(*target_, *old, std::nullopt).size(), entries.size());
  auto checks = Verify(*target_, id, std::nullopt);
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  EXPECT_EQ(checks->size(), old->files.size() + entries.size());
  for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.path << c.status.ToString();
  ASSERT_TRUE(Restore(*target_, id, (root_ / "r").string(), std::nullopt).ok());
  EXPECT_EQ(RestoredAttachments(root_ / "r"), Expected());
  // An incremental on top of it reads none of the att/ objects it lists.
  const std::string added = AddAttachment(Random(20'000, 51));
  ReadRecordingStore recording(*live_);
  options_.blobs = &recording;
  const Manifest next = Backup();
  EXPECT_EQ(next.format, 4);
  EXPECT_EQ(next.parent, id);
  for (const auto& key : recording.read()) {
    EXPECT_FALSE(key.starts_with("att/") && key != AttKey(added)) << key << " read again";
  }
  ASSERT_TRUE(Restore(*target_, next.id, (root_ / "next").string(), std::nullopt).ok());
  EXPECT_EQ(RestoredAttachments(root_ / "next"), Expected());
}

// Fewer under a sanitizer (PARLEY_BACKUP_MANY_BLOBS overrides).
size_t ManyObjects() {
  if (const char* env = std::getenv("PARLEY_BACKUP_MANY_BLOBS")) return std::stoul(env);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 3'000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return 3'000;
#endif
#endif
  return 30'000;
}

TEST(BackupManyBlobsTest, TheManifestStaysSmallWhateverTheNumberOfObjects) {
  ASSERT_GE(sodium_init(), 0);
  const fs::path root =
      fs::temp_directory_path() / ("parley-backup-many-test-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(randombytes_random()));
  WriteAll(root / "data" / "CURRENT", "MANIFEST-000005\n");
  testing::MemoryTarget target;
  testing::MemoryBlobStore live;
  // Many small records, and a few attachments with their thumbnails.
  const size_t n = ManyObjects();
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(live.Put("meta/att/" + std::to_string(1'000'000 + i) + ".json",
                         "{\"n\":" + std::to_string(i) + "}")
                    .ok());
  }
  for (uint32_t i = 0; i < 50; ++i) {
    const std::string bytes = Random(1'000 + i, 100 + i);
    const std::string sha = Sha256Hex(bytes);
    ASSERT_TRUE(live.Put(AttKey(sha), bytes).ok());
    ASSERT_TRUE(live.Put("thumb/" + sha + ".webp", "webp" + sha).ok());
  }
  CreateOptions options;
  options.chunk_bytes = 64 << 10;
  options.blobs = &live;
  auto full = Create((root / "data").string(), target, options);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->format, 4);
  EXPECT_EQ(full->blob_count, n + 100);
  EXPECT_GT(full->blob_index.chunks.size(), n / 1'000);  // ~200 bytes an entry, 64 KiB chunks
  auto manifest = target.Get("manifests/" + full->id, 1u << 30);
  ASSERT_TRUE(manifest.ok());
  EXPECT_LT(manifest->size(), 4'000 + 80 * full->blob_index.chunks.size());

  // An incremental reads the records again, but neither attachments nor thumbnails.
  const std::string bytes = Random(5'000, 7);
  const std::string sha = Sha256Hex(bytes);
  ASSERT_TRUE(live.Put(AttKey(sha), bytes).ok());
  ASSERT_TRUE(live.Put("meta/att/1000000.json", "{\"n\":\"changed\"}").ok());
  ASSERT_TRUE(live.Delete("meta/att/1000001.json").ok());
  ReadRecordingStore recording(live);
  options.blobs = &recording;
  auto inc = Create((root / "data").string(), target, options);
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  EXPECT_EQ(inc->parent, full->id);
  EXPECT_EQ(inc->blob_count, n + 100);
  for (const auto& key : recording.read()) {
    EXPECT_TRUE(key.starts_with("meta/") || key == AttKey(sha)) << key << " read again";
  }
  // Verify and restore read it back whole.
  size_t checked = 0;
  Status st = VerifyEach(target, inc->id, std::nullopt, [&](FileCheck c) {
    ++checked;
    EXPECT_TRUE(c.status.ok()) << c.path << c.status.ToString();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(checked, inc->files.size() + inc->blob_count);
  testing::MemoryBlobStore restored;
  RestoreOptions into;
  into.blobs = &restored;
  st = Restore(target, inc->id, (root / "r").string(), std::nullopt, into);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(restored.objects(), live.objects());
  // Pruning the full backup keeps what the incremental uses.
  auto pruned = Prune(target, Retention{1, 0}, std::nullopt, NowMillis());
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(*pruned, 1u);
  testing::MemoryBlobStore again;
  into.blobs = &again;
  st = Restore(target, inc->id, (root / "r2").string(), std::nullopt, into);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(again.objects(), live.objects());
  fs::remove_all(root);
}

}  // namespace
}  // namespace parley::backup
