#include "backup/backup.h"
#include "backup/backup_test_util.h"
#include "common/clock.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace parley::backup {
namespace {

namespace fs = std::filesystem;
using testing::ReadAll;
using testing::WriteAll;

// Path -> size and content id of every file: equal maps mean equal trees (and print short).
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string data = ReadAll(e.path());
    out[fs::relative(e.path(), dir).string()] =
        std::to_string(data.size()) + ":" + ContentId(data, std::nullopt).substr(0, 16);
  }
  return out;
}
std::string Random(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed = seed * 1103515245 + 12345) >> 16);
  return s;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    root_ = fs::temp_directory_path() / ("parley-backup-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(randombytes_random()));
    data_ = root_ / "data";
    auto t = OpenDirTarget((root_ / "target").string());
    ASSERT_TRUE(t.ok());
    target_ = std::move(*t);
    // A store-like directory: immutable tables, a log and a small changing file.
    WriteAll(data_ / "000010.sst", Random(3'000'000, 1));
    WriteAll(data_ / "000011.sst", Random(500'000, 2));
    WriteAll(data_ / "000012.log", std::string(200'000, 'w'));
    WriteAll(data_ / "CURRENT", "MANIFEST-000005\n");
    WriteAll(data_ / "search" / "index.db", std::string(10'000, 's'));
    options_.chunk_bytes = 1 << 20;
  }
  void TearDown() override { fs::remove_all(root_); }

  Manifest Backup() {
    auto m = Create(data_.string(), *target_, options_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Manifest{};
  }
  // `name` under the test's root directory (the path only: nothing is created).
  fs::path UnderRoot(const std::string& name) { return root_ / name; }
  // Every chunk file on the target.
  std::vector<fs::path> Chunks() {
    std::vector<fs::path> out;
    for (auto& e : fs::recursive_directory_iterator(root_ / "target" / "chunks")) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
    return out;
  }

  fs::path root_, data_;
  std::unique_ptr<Target> target_;
  CreateOptions options_;
};

TEST_F(BackupTest, FullBackupRestoresEveryByte) {
  for (bool encrypted : {false, true}) {
    if (encrypted) {
      Key k;
      k.fill(7);
      options_.key = k;
    }
    Manifest m = Backup();
    EXPECT_EQ(m.kind, encrypted ? "full" : "full");
    EXPECT_EQ(m.files.size(), 5u);
    const fs::path out = UnderRoot(encrypted ? "restored-enc" : "restored");
    ASSERT_TRUE(Restore(*target_, m.id, out.string(), options_.key).ok());
    EXPECT_EQ(Snapshot(out), Snapshot(data_));
    auto checks = Verify(*target_, m.id, options_.key);
    ASSERT_TRUE(checks.ok());
    ASSERT_EQ(checks->size(), m.files.size());  // one check per file
    for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.path;
    options_.full = true;  // the encrypted pass must not reuse unencrypted chunks
  }
}

TEST_F(BackupTest, IncrementalUploadsOnlyNewDataAndSkipsKnownTables) {
  Manifest full = Backup();
  EXPECT_EQ(full.new_bytes, full.bytes);
  WriteAll(data_ / "000013.sst", Random(40'000, 3));  // ~1% new
  WriteAll(data_ / "000012.log", std::string(200'000, 'w') + "more");
  Manifest inc = Backup();
  EXPECT_EQ(inc.kind, "incremental");
  EXPECT_EQ(inc.parent, full.id);
  EXPECT_LE(inc.new_bytes, 40'000u + 200'004u);
  EXPECT_GT(inc.new_bytes, 0u);
  EXPECT_LT(inc.stored_bytes, full.stored_bytes / 10);
  ASSERT_TRUE(Restore(*target_, inc.id, UnderRoot("r").string(), std::nullopt).ok());
  EXPECT_EQ(Snapshot(UnderRoot("r")), Snapshot(data_));
}

TEST_F(BackupTest, AChainOfTenIncrementalsRestoresLikeAFullBackup) {
  Backup();
  for (int i = 0; i < 10; ++i) {
    WriteAll(data_ / ("0001" + std::to_string(20 + i) + ".sst"), Random(20'000, 100 + i));
    if (i % 3 == 0) fs::remove(data_ / "000011.sst");  // compaction removes tables
    WriteAll(data_ / "CURRENT", "MANIFEST-0000" + std::to_string(10 + i) + "\n");
    EXPECT_EQ(Backup().kind, "incremental");
  }
  auto list = List(*target_, std::nullopt);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 11u);
  options_.full = true;
  Manifest full = Backup();
  ASSERT_TRUE(Restore(*target_, list->back().id, UnderRoot("chain").string(), std::nullopt).ok());
  ASSERT_TRUE(Restore(*target_, full.id, UnderRoot("full").string(), std::nullopt).ok());
  EXPECT_EQ(Snapshot(UnderRoot("chain")), Snapshot(UnderRoot("full")));
  EXPECT_EQ(Snapshot(UnderRoot("chain")), Snapshot(data_));
}

TEST_F(BackupTest, AFlippedByteFailsVerifyAndRestoreNamingTheFile) {
  Manifest m = Backup();
  // Damage the chunk of the small "CURRENT" file.
  std::string current_chunk;
  for (const auto& f : m.files) {
    if (f.path == "CURRENT") current_chunk = f.chunks.at(0);
  }
  const fs::path chunk = root_ / "target" / "chunks" / current_chunk.substr(0, 2) / current_chunk;
  std::string blob = ReadAll(chunk);
  blob[blob.size() / 2] ^= 0x40;
  WriteAll(chunk, blob);
  auto checks = Verify(*target_, m.id, std::nullopt);
  ASSERT_TRUE(checks.ok());
  ASSERT_EQ(checks->size(), m.files.size());  // one check per file
  int bad = 0;
  for (const auto& c : *checks) {
    if (!c.status.ok()) {
      ++bad;
      EXPECT_EQ(c.path, "CURRENT");
    }
  }
  EXPECT_EQ(bad, 1);
  Status st = Restore(*target_, m.id, UnderRoot("r").string(), std::nullopt);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("CURRENT"), std::string::npos) << st.ToString();
  EXPECT_FALSE(fs::exists(UnderRoot("r")));  // created by the restore, removed with its files
  fs::create_directories(UnderRoot("empty"));
  EXPECT_FALSE(Restore(*target_, m.id, UnderRoot("empty").string(), std::nullopt).ok());
  EXPECT_TRUE(fs::is_directory(UnderRoot("empty")));  // the operator's directory stays, empty
  EXPECT_TRUE(fs::is_empty(UnderRoot("empty")));
}

TEST_F(BackupTest, TruncatedChunkWrongKeyAndNonEmptyTargetAreRefused) {
  Key k;
  k.fill(9);
  options_.key = k;
  Manifest m = Backup();
  Key wrong;
  wrong.fill(10);
  EXPECT_EQ(Restore(*target_, m.id, UnderRoot("w").string(), wrong).code(), Code::kUnauthenticated);
  EXPECT_EQ(Restore(*target_, m.id, UnderRoot("w").string(), std::nullopt).code(),
            Code::kUnauthenticated);
  WriteAll(UnderRoot("busy") / "file", "x");
  EXPECT_EQ(Restore(*target_, m.id, UnderRoot("busy").string(), k).code(),
            Code::kFailedPrecondition);
  const fs::path victim = Chunks().front();
  std::string blob = ReadAll(victim);
  WriteAll(victim, blob.substr(0, blob.size() - 7));
  EXPECT_FALSE(Restore(*target_, m.id, UnderRoot("t").string(), k).ok());
  EXPECT_EQ(Load(*target_, "../etc", k).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Load(*target_, "20990101T000000000Z-000000", k).status().code(), Code::kNotFound);
}

TEST_F(BackupTest, AnInterruptedBackupLeavesEarlierOnesIntactAndIsCleanedUp) {
  Manifest first = Backup();
  // What a backup killed mid-way leaves: a temporary file and chunks with no manifest.
  WriteAll(root_ / "target" / "chunks" / "ff" / "ffff.tmp-123", "partial");
  WriteAll(root_ / "target" / "chunks" / "ee" / std::string(64, 'e'), "orphan");
  auto list = List(*target_, std::nullopt);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_TRUE(Restore(*target_, first.id, UnderRoot("r").string(), std::nullopt).ok());
  Backup();  // the next run removes temporaries
  EXPECT_FALSE(fs::exists(root_ / "target" / "chunks" / "ff" / "ffff.tmp-123"));
  // Pruning keeps the newest backup and removes unreferenced chunks, the orphan included.
  auto dropped = Prune(*target_, Retention{1, 0}, std::nullopt, NowMillis());
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 1u);
  EXPECT_FALSE(fs::exists(root_ / "target" / "chunks" / "ee" / std::string(64, 'e')));
  EXPECT_EQ(List(*target_, std::nullopt)->size(), 1u);
  ASSERT_TRUE(Restore(*target_, List(*target_, std::nullopt)->back().id, UnderRoot("r2").string(),
                      std::nullopt)
                  .ok());
}

TEST_F(BackupTest, RetentionKeepsTheLastNOrTheLastDaysAndEveryKeptBackupRestores) {
  std::vector<Manifest> made;
  for (int i = 0; i < 4; ++i) {
    WriteAll(data_ / ("0001" + std::to_string(i) + ".sst"), Random(200'000, 10 + i));
    made.push_back(Backup());
  }
  const int64_t now = NowMillis();
  // Rules off: nothing goes. All four are younger than a day: nothing goes.
  EXPECT_EQ(*Prune(*target_, Retention{}, std::nullopt, now), 0u);
  EXPECT_EQ(*Prune(*target_, Retention{0, 1}, std::nullopt, now), 0u);
  // Keep the last 3 (the day rule also keeps them all, unless it is two days later).
  EXPECT_EQ(*Prune(*target_, Retention{3, 1}, std::nullopt, now), 0u);
  EXPECT_EQ(*Prune(*target_, Retention{3, 1}, std::nullopt, now + 2 * 86'400'000), 1u);
  // Two days later the day rule alone keeps only the newest.
  EXPECT_EQ(*Prune(*target_, Retention{0, 1}, std::nullopt, now + 2 * 86'400'000), 2u);
  auto left = List(*target_, std::nullopt);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->back().id, made.back().id);
  auto checks = Verify(*target_, made.back().id, std::nullopt);
  ASSERT_TRUE(checks.ok());
  ASSERT_FALSE(made.back().files.empty());
  ASSERT_EQ(checks->size(), made.back().files.size());  // one check per file
  for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.path;
  ASSERT_TRUE(Restore(*target_, made.back().id, UnderRoot("r").string(), std::nullopt).ok());
  EXPECT_EQ(Snapshot(UnderRoot("r")), Snapshot(data_));
}

}  // namespace
}  // namespace parley::backup
