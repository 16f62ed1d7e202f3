// FileStateStore: round trip, permissions, and that a save replaces the file atomically
// (a reader sees the old or the new state, never a torn one; no temp files linger).
#include "client/state_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace parley::client {
namespace {
namespace fs = std::filesystem;

class StateStoreTest : public ::testing::Test {
 protected:
  static SessionState Sample() {
    SessionState s;
    s.server = "ws://127.0.0.1:7800";
    s.user = 42;
    s.name = "alice";
    s.device = "laptop";
    s.token = "3f9c0123456789abcdef";
    s.cursor = 1234;
    s.heads_since = 99;
    s.journal.push_back({"cm-1", 12, "", 0, MessageKind::kText, "hello \"quoted\" ünï 😀\n"});
    s.journal.push_back({"cm-2", 0, "bob", 0, MessageKind::kCustom, R"({"k":1})"});
    s.journal.push_back({"cm-3", 0, "", 7, MessageKind::kText, "to an id"});
    return s;
  }

  static void ExpectSame(const SessionState& a, const SessionState& b) {
    EXPECT_EQ(a.server, b.server);
    EXPECT_EQ(a.user, b.user);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.device, b.device);
    EXPECT_EQ(a.token, b.token);
    EXPECT_EQ(a.cursor, b.cursor);
    EXPECT_EQ(a.heads_since, b.heads_since);
    ASSERT_EQ(a.journal.size(), b.journal.size());
    for (size_t i = 0; i < a.journal.size(); ++i) {
      EXPECT_EQ(a.journal[i].client_msg_id, b.journal[i].client_msg_id);
      EXPECT_EQ(a.journal[i].conv, b.journal[i].conv);
      EXPECT_EQ(a.journal[i].to, b.journal[i].to);
      EXPECT_EQ(a.journal[i].to_user, b.journal[i].to_user);
      EXPECT_EQ(a.journal[i].kind, b.journal[i].kind);
      EXPECT_EQ(a.journal[i].body, b.journal[i].body);
    }
  }

  static std::string Slurp(std::istream& in) {
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  const test::TempDir tmp_{"parley-state-"};
  const std::string dir_ = tmp_.path();
};

TEST_F(StateStoreTest, MissingFileIsAnEmptyState) {
  FileStateStore store(dir_ + "/nothing.json");
  auto s = store.Load();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->token.empty());
  EXPECT_EQ(s->cursor, 0u);
  EXPECT_TRUE(s->journal.empty());
}

TEST_F(StateStoreTest, RoundTripsEveryField) {
  FileStateStore store(dir_ + "/session.json");
  ASSERT_TRUE(store.Save(Sample()).ok());
  auto loaded = FileStateStore(dir_ + "/session.json").Load();  // a fresh instance
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSame(*loaded, Sample());
}

TEST_F(StateStoreTest, FileIsPrivateAndCreatedDirectoryToo) {
  const std::string path = dir_ + "/new/sub/session.json";
  FileStateStore store(path);
  ASSERT_TRUE(store.Save(Sample()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // it holds a bearer token
  ASSERT_EQ(::stat((dir_ + "/new/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(StateStoreTest, SaveReplacesTheFileAtomically) {
  const std::string path = dir_ + "/session.json";
  FileStateStore store(path);
  SessionState first = Sample();
  ASSERT_TRUE(store.Save(first).ok());
  std::ifstream old_reader(path);  // holds the old inode open across the save
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  SessionState second = Sample();
  second.cursor = 99999;
  second.journal.clear();
  ASSERT_TRUE(store.Save(second).ok());
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  // A new file was renamed into place: the old one was never rewritten in place.
  EXPECT_NE(before.st_ino, after.st_ino);
  auto old_content = StateFromJson(Slurp(old_reader));
  ASSERT_TRUE(old_content.ok());
  ExpectSame(*old_content, first);
  auto now = store.Load();
  ASSERT_TRUE(now.ok());
  ExpectSame(*now, second);
  // No temp files are left behind.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(StateStoreTest, ConcurrentSavesAlwaysLeaveAWholeFile) {
  const std::string path = dir_ + "/session.json";
  FileStateStore a(path), b(path);  // two stores (as two processes would) on one file
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        SessionState s = Sample();
        s.cursor = static_cast<Seq>(t * 1000 + i);
        ASSERT_TRUE((t % 2 ? a : b).Save(s).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto s = a.Load();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->token, Sample().token);
  // The file holds one save whole: its cursor is one that some thread wrote.
  const Seq t = s->cursor / 1000, i = s->cursor % 1000;
  EXPECT_TRUE(t < 4 && i < 25) << "cursor " << s->cursor << " was never saved";
  ExpectSame(*s, [&] {
    SessionState want = Sample();
    want.cursor = s->cursor;
    return want;
  }());
}

TEST_F(StateStoreTest, CorruptFileIsAnErrorAndIsLeftAlone) {
  const std::string path = dir_ + "/session.json";
  {
    std::ofstream out(path);
    out << "{\"token\": \"abc\", \"cursor\": ";  // torn by something other than us
  }
  FileStateStore store(path);
  auto s = store.Load();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  std::ifstream in(path);
  EXPECT_EQ(Slurp(in), "{\"token\": \"abc\", \"cursor\": ");
  EXPECT_FALSE(StateFromJson("[]").ok());
  EXPECT_FALSE(StateFromJson(R"({"journal":[{"body":"no id"}]})").ok());
}

TEST_F(StateStoreTest, RemoveDeletesAndToleratesMissing) {
  const std::string path = dir_ + "/session.json";
  FileStateStore store(path);
  ASSERT_TRUE(store.Save(Sample()).ok());
  ASSERT_TRUE(store.Remove().ok());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(store.Remove().ok());
  EXPECT_TRUE(store.Load()->token.empty());
}

TEST(MemoryStateStoreTest, KeepsTheLastSave) {
  MemoryStateStore store;
  SessionState s;
  s.cursor = 5;
  ASSERT_TRUE(store.Save(s).ok());
  EXPECT_EQ(store.Load()->cursor, 5u);
  EXPECT_EQ(store.saves(), 1u);
}

TEST_F(StateStoreTest, APlantedSymlinkIsReplacedNotWrittenThrough) {
  const std::string victim = dir_ + "/victim";
  { std::ofstream(victim) << "precious"; }
  const std::string path = dir_ + "/state.json";
  fs::create_symlink(victim, path);
  FileStateStore store(path);
  ASSERT_TRUE(store.Save(Sample()).ok());
  std::ifstream in(victim);
  EXPECT_EQ(Slurp(in), "precious");
  EXPECT_FALSE(fs::is_symlink(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ExpectSame(*store.Load(), Sample());
}

}  // namespace
}  // namespace parley::client
