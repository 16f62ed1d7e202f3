#include "common/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  static mode_t ModeOf(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  static std::string Read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  const test::TempDir tmp_{"parley-files-test-"};
  const std::string dir_ = tmp_.path();
};

TEST_F(FilesTest, AtomicWriteIsPrivateAndReplacesAPlantedSymlinkWithoutWritingThroughIt) {
  const std::string victim = dir_ + "/victim", out = dir_ + "/out";
  { std::ofstream(victim) << "precious"; }
  fs::create_symlink(victim, out);
  ASSERT_TRUE(WriteFileAtomically(out, "new contents").ok());
  EXPECT_EQ(Read(victim), "precious");
  EXPECT_FALSE(fs::is_symlink(out));
  EXPECT_EQ(Read(out), "new contents");
  EXPECT_EQ(ModeOf(out), 0600u);
  // No temporary file left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 2u);
}

TEST_F(FilesTest, AbandonedAtomicFileLeavesNothing) {
  const std::string out = dir_ + "/out";
  {
    auto f = AtomicFile::Create(out);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write("half").ok());
    EXPECT_TRUE(fs::exists(f->temp_path()));
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(FilesTest, SecretFileMustNotBeOpenToOthers) {
  const std::string key = dir_ + "/key";
  { std::ofstream(key) << "secret"; }
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  Status st = CheckSecretFile(key, "key file");
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("0644"), std::string::npos) << st.ToString();
  ASSERT_EQ(::chmod(key.c_str(), 0620), 0);
  EXPECT_EQ(CheckSecretFile(key, "key file").code(), Code::kPermissionDenied);
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  EXPECT_TRUE(CheckSecretFile(key, "key file").ok());
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);  // group-readable: a deploy group may read it
  EXPECT_TRUE(CheckSecretFile(key, "key file").ok());
  EXPECT_EQ(CheckSecretFile(dir_ + "/absent", "key file").code(), Code::kNotFound);
}

TEST_F(FilesTest, TreeIsMadePrivateWithoutFollowingSymlinks) {
  const std::string outside = dir_ + "/outside";
  { std::ofstream(outside) << "x"; }
  ASSERT_EQ(::chmod(outside.c_str(), 0644), 0);
  const std::string tree = dir_ + "/tree";
  ASSERT_TRUE(CreatePrivateDirs(tree + "/a/b").ok());
  EXPECT_EQ(ModeOf(tree), 0700u);
  EXPECT_EQ(ModeOf(tree + "/a/b"), 0700u);
  ASSERT_EQ(::chmod(tree.c_str(), 0755), 0);
  { std::ofstream(tree + "/a/file") << "x"; }
  ASSERT_EQ(::chmod((tree + "/a/file").c_str(), 0664), 0);
  fs::create_symlink(outside, tree + "/link");
  auto changed = MakeTreePrivate(tree);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, 2u);
  EXPECT_EQ(ModeOf(tree), 0700u);
  EXPECT_EQ(ModeOf(tree + "/a/file"), 0600u);
  EXPECT_EQ(ModeOf(outside), 0644u);
}

}  // namespace
}  // namespace parley
