// Backups read from a target someone else can write to: forged and planted objects are
// refused with a stable error, listed as invalid, never opened outside the target, never
// allocated by a forged size, and never "latest".
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "backup/backup.h"
#include "backup/backup_test_util.h"
#include "blob/blob_store.h"
#include "common/clock.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;

void WriteAll(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

// A target that records every object name asked for and can run a hook on a Get.
class RecordingTarget : public Target {
 public:
  explicit RecordingTarget(Target& inner) : inner_(inner) {}
  std::string Describe() const override { return inner_.Describe(); }
  Status Put(const std::string& name, std::string_view data) override {
    names.push_back(name);
    return inner_.Put(name, data);
  }
  Result<std::string> Get(const std::string& name, size_t max_bytes) override {
    names.push_back(name);
    if (on_get) on_get(name);
    return inner_.Get(name, max_bytes);
  }
  Result<bool> Exists(const std::string& name) override {
    names.push_back(name);
    return inner_.Exists(name);
  }
  Result<std::vector<std::string>> List(const std::string& prefix) override {
    return inner_.List(prefix);
  }
  Status Remove(const std::string& name) override {
    names.push_back(name);
    return inner_.Remove(name);
  }
  Status CleanUp() override { return inner_.CleanUp(); }

  std::vector<std::string> names;
  std::function<void(const std::string&)> on_get;

 private:
  Target& inner_;
};

// Every name the backup code built is a well-formed object name.
void ExpectOnlyWellFormedNames(const std::vector<std::string>& names) {
  static const std::regex kName(
      R"(chunks/[0-9a-f]{2}/[0-9a-f]{64}|manifests/[0-9]{8}T[0-9]{9}Z-[0-9a-f]{6})");
  EXPECT_FALSE(names.empty());  // the backup code asked for something
  for (const auto& n : names) EXPECT_TRUE(std::regex_match(n, kName)) << n;
}

class ForgedBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    root_ = fs::temp_directory_path() / ("parley-forged-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(randombytes_random()));
    data_ = root_ / "data";
    auto t = OpenDirTarget((root_ / "target").string());
    ASSERT_TRUE(t.ok());
    target_ = std::move(*t);
    WriteAll(data_ / "000010.sst", std::string(300'000, 'a'));
    WriteAll(data_ / "CURRENT", "MANIFEST-000005\n");
    WriteAll(data_ / "search" / "index.db", std::string(10'000, 's'));
    options_.chunk_bytes = 64 << 10;
  }
  void TearDown() override { fs::remove_all(root_); }

  Manifest Backup() {
    auto m = Create(data_.string(), *target_, options_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Manifest{};
  }
  // The manifest of `id` as JSON (opened with the options' key).
  nlohmann::json ManifestJson(const std::string& id) {
    auto blob = target_->Get("manifests/" + id, 1 << 20);
    EXPECT_TRUE(blob.ok());
    auto text = Open(*blob, options_.key, 1 << 20);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return nlohmann::json::parse(*text);
  }
  // Plants `j` as manifest `id` (with the time of the id), sealed with `key` (none: plain
  // with a valid checksum).
  void Plant(const std::string& id, nlohmann::json j, const std::optional<Key>& key) {
    j["id"] = id;
    struct tm tm {};
    ASSERT_NE(strptime(id.substr(0, 15).c_str(), "%Y%m%dT%H%M%S", &tm), nullptr);
    j["created_ms"] = int64_t{timegm(&tm)} * 1000 + std::stoi(id.substr(15, 3));
    ASSERT_TRUE(target_->Put("manifests/" + id, Seal(j.dump(), key)).ok());
  }
  static std::string Forged16GiB() {
    std::string out = "PLYB";
    out.push_back(1);
    out.push_back(0);
    const uint64_t declared = uint64_t{16} << 30;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(declared >> (8 * i)));
    const std::string body(159, 'x');
    unsigned char sum[32];
    crypto_generichash(sum, sizeof(sum), reinterpret_cast<const unsigned char*>(body.data()),
                       body.size(), nullptr, 0);
    out.append(reinterpret_cast<const char*>(sum), sizeof(sum));
    return out + body;  // 205 bytes
  }
  static mode_t ModeOf(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  fs::path root_, data_;
  std::unique_ptr<Target> target_;
  CreateOptions options_;
};

constexpr char kFutureId[] = "20991231T235959000Z-abcdef";
constexpr int64_t kFutureMs = 4102444799000;  // 2099-12-31T23:59:59Z

TEST_F(ForgedBackupTest, ForgedManifestsAreListedAsInvalidAndNeverOpenAnythingElse) {
  const Manifest real = Backup();
  const nlohmann::json genuine = ManifestJson(real.id);
  ASSERT_EQ(Forged16GiB().size(), 205u);
  ASSERT_TRUE(target_->Put("manifests/20260101T000000000Z-000001", Forged16GiB()).ok());
  for (const std::string& bad_id :
       {std::string("../../../../../../../../../../../../dev/zero"), std::string("/dev/zero"),
        std::string("../../../secret"), std::string(64, 'A')}) {
    nlohmann::json j = genuine;
    j["files"][0]["chunks"][0] = bad_id;
    static int n = 2;
    const std::string id = "2026010" + std::to_string(n++) + "T000000000Z-000001";
    Plant(id, j, std::nullopt);
  }
  Plant(kFutureId, genuine, std::nullopt);
  ASSERT_TRUE(target_
                  ->Put("manifests/20260109T000000000Z-000001",
                        Seal(genuine.dump(), std::nullopt))  // another's manifest, renamed
                  .ok());
  nlohmann::json escape = genuine;
  escape["files"][0]["path"] = "../../outside";
  Plant("20260110T000000000Z-000001", escape, std::nullopt);
  ASSERT_TRUE(target_->Put("manifests/not-an-id", Seal("{}", std::nullopt)).ok());

  RecordingTarget recording(*target_);
  auto all = ListAll(recording, std::nullopt, NowMillis());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 10u);
  for (size_t i = 0; i + 1 < all->size(); ++i) {
    EXPECT_FALSE((*all)[i].status.ok()) << (*all)[i].id;
    EXPECT_TRUE((*all)[i].status.code() == Code::kCorruption ||
                (*all)[i].status.code() == Code::kInvalidArgument)
        << (*all)[i].status.ToString();
  }
  EXPECT_TRUE(all->back().status.ok());
  EXPECT_EQ(all->back().id, real.id);  // the 2099 one is not the newest
  auto reason = [&](const std::string& id) {
    for (const auto& e : *all) {
      if (e.id == id) return e.status.ToString();
    }
    return std::string("?");
  };
  EXPECT_NE(reason("20260101T000000000Z-000001").find("over the limit"), std::string::npos);
  EXPECT_NE(reason("20260102T000000000Z-000001").find("bad chunk id"), std::string::npos);
  EXPECT_NE(reason(kFutureId).find("future"), std::string::npos);
  EXPECT_NE(reason("20260109T000000000Z-000001").find("names itself"), std::string::npos);
  EXPECT_NE(reason("20260110T000000000Z-000001").find("outside"), std::string::npos);
  EXPECT_NE(reason("not-an-id").find("bad backup id"), std::string::npos);

  auto valid = List(recording, std::nullopt);
  ASSERT_TRUE(valid.ok());
  ASSERT_EQ(valid->size(), 1u);
  // Verify and restore of each forged backup fail with a stable code; nothing restored.
  for (const auto& e : *all) {
    if (e.status.ok()) continue;
    auto checks = Verify(recording, e.id, std::nullopt);
    EXPECT_FALSE(checks.ok()) << e.id;
    const fs::path out = root_ / ("restore-" + std::to_string(&e - all->data()));
    EXPECT_FALSE(Restore(recording, e.id, out.string(), std::nullopt).ok()) << e.id;
    EXPECT_FALSE(fs::exists(out)) << e.id;
  }
  // The next backup builds on the genuine one, not on the forged 2099 one.
  auto next = Create(data_.string(), recording, options_);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->parent, real.id);
  // No name built from a forged id: only chunk and manifest names of the right form
  // (the name that is not an id is refused before any object is asked for).
  ExpectOnlyWellFormedNames(recording.names);
  // Pruning refuses while forged manifests sit on the target (their chunks might be
  // in use); it removes nothing.
  auto pruned = Prune(*target_, Retention{1, 0}, std::nullopt, NowMillis());
  EXPECT_EQ(pruned.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(List(*target_, std::nullopt)->size(), 2u);
}

TEST_F(ForgedBackupTest, WithAKeyPlainObjectsAreRefused) {
  Key key;
  key.fill(9);
  options_.key = key;
  const Manifest real = Backup();
  nlohmann::json forged = ManifestJson(real.id);
  Plant("20991231T235958000Z-abcdef", forged, std::nullopt);  // valid checksum, no tag
  auto all = ListAll(*target_, key, kFutureMs);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].status.code(), Code::kUnauthenticated);
  EXPECT_NE((*all)[0].status.message().find("not encrypted"), std::string::npos);
  EXPECT_EQ(all->back().id, real.id);
  EXPECT_EQ(Verify(*target_, "20991231T235958000Z-abcdef", key).status().code(),
            Code::kUnauthenticated);
  // A plain chunk swapped in under a genuine chunk's name is refused too.
  const std::string chunk = real.files[0].chunks[0];
  ASSERT_TRUE(
      target_->Put("chunks/" + chunk.substr(0, 2) + "/" + chunk, Seal("swapped", std::nullopt))
          .ok());
  auto checks = Verify(*target_, real.id, key);
  ASSERT_TRUE(checks.ok());
  EXPECT_EQ((*checks)[0].status.code(), Code::kUnauthenticated);
}

TEST_F(ForgedBackupTest, TargetReadsAreBoundedAndFollowNothing) {
  ASSERT_TRUE(target_->Put("manifests/a", std::string(1000, 'x')).ok());
  EXPECT_TRUE(target_->Get("manifests/a", 1000).ok());
  EXPECT_EQ(target_->Get("manifests/a", 999).status().code(), Code::kCorruption);
  const fs::path dir = root_ / "target" / "manifests";
  fs::create_symlink("/dev/zero", dir / "zero");
  EXPECT_EQ(target_->Get("manifests/zero", 1 << 20).status().code(), Code::kCorruption);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(target_->Get("manifests/fifo", 1 << 20).status().code(), Code::kCorruption);
  for (const char* name : {"../x", "chunks/../../x", "/dev/zero", "", "a//b", "a/./b"}) {
    EXPECT_EQ(target_->Get(name, 10).status().code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(target_->Exists(name).status().code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(target_->Put(name, "x").code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(target_->Remove(name).code(), Code::kInvalidArgument) << name;
  }
  // Objects on the target are private.
  EXPECT_EQ(ModeOf(dir / "a"), 0600u);
  EXPECT_EQ(ModeOf(dir), 0700u);
}

TEST_F(ForgedBackupTest, RestoreIsPrivateAndDoesNotFollowASymlinkPlantedMeanwhile) {
  const Manifest m = Backup();
  const fs::path out = root_ / "restored";
  ASSERT_TRUE(Restore(*target_, m.id, out.string(), std::nullopt).ok());
  EXPECT_EQ(ModeOf(out), 0700u);
  EXPECT_EQ(ModeOf(out / "search"), 0700u);
  EXPECT_EQ(ModeOf(out / "CURRENT"), 0600u);
  EXPECT_EQ(ModeOf(out / "search" / "index.db"), 0600u);

  // Someone with access to the new directory plants a symlink where the restore will write
  // CURRENT, while it reads the chunks of the file before: it must not write through it.
  const fs::path victim = root_ / "victim";
  WriteAll(victim, "precious");
  const fs::path out2 = root_ / "restored2";
  RecordingTarget racing(*target_);
  bool planted = false;
  racing.on_get = [&](const std::string& name) {
    if (planted || name.rfind("chunks/", 0) != 0) return;
    std::error_code ec;
    fs::create_symlink(victim, out2 / ".restoring" / "CURRENT", ec);
    planted = !ec;
  };
  Status st = Restore(racing, m.id, out2.string(), std::nullopt);
  ASSERT_TRUE(planted);
  EXPECT_FALSE(st.ok());
  std::ifstream in(victim);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "precious");
  EXPECT_FALSE(fs::exists(out2));  // nothing restored, the directory it made removed
}

TEST_F(ForgedBackupTest, AttachmentEntriesAreCheckedLikeFiles) {
  auto live = blob::OpenLocalBlobStore((root_ / "attachments").string());
  ASSERT_TRUE(live.ok());
  const std::string bytes(100'000, 'z');
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  const std::string sha = hex;
  const std::string att = "att/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  ASSERT_TRUE((*live)->Put(att, bytes).ok());
  ASSERT_TRUE((*live)->Put("thumb/" + sha + ".webp", "a thumbnail").ok());
  ASSERT_TRUE((*live)->Put("meta/att/0123.json", "{}").ok());
  options_.blobs = live->get();
  const Manifest real = Backup();
  ASSERT_EQ(real.blob_count, 3u);
  // Its entries inline, as a format-3 manifest lists them.
  const nlohmann::json genuine =
      testing::AsFormat3(ManifestJson(real.id), testing::Entries(*target_, real, std::nullopt));
  ASSERT_EQ(genuine["format"], 3);
  ASSERT_EQ(genuine["blobs"][0]["key"], att);
  struct Case {
    std::function<void(nlohmann::json&)> forge;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {[](auto& j) { j["blobs"][2]["key"] = "uploads/0123/state"; }, "not a key of attachments"},
      {[](auto& j) { j["blobs"][2]["key"] = "../../etc/passwd"; }, "../../etc/passwd"},
      {[](auto& j) { j["blobs"][2]["key"] = "meta/.multipart/x"; }, "not an object key"},
      {[](auto& j) { j["blobs"][0]["sha256"] = std::string(64, 'a'); }, "is not its name"},
      {[](auto& j) { j["blobs"][0]["key"] = "att/00/00/" + std::string(64, 'a'); },
       "not an attachment key"},
      {[](auto& j) { j["blobs"][1]["sha256"] = std::string(64, 'a'); }, "has a sha256"},
      {[](auto& j) { j["blobs"][0]["size"] = 99'000'000; }, "does not fit its chunk count"},
      {[](auto& j) { j["blobs"][0]["chunks"][0] = "../../x"; }, "bad chunk id"},
      {[](auto& j) { j["blobs"][0]["hash"] = "zz"; }, "bad hash"},
      {[](auto& j) { j["blob_bytes"] = 5; }, "do not add up"},
      {[](auto& j) { j["blobs"][2] = j["blobs"][1]; }, "twice"},
      {[](auto& j) { j.erase("blobs"); }, "does not parse"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    nlohmann::json j = genuine;
    cases[i].forge(j);
    const std::string id = "202601" + std::to_string(10 + i) + "T000000000Z-000001";
    Plant(id, j, std::nullopt);
    auto loaded = Load(*target_, id, std::nullopt);
    EXPECT_EQ(loaded.status().code(), Code::kCorruption) << i;
    EXPECT_NE(loaded.status().message().find(cases[i].reason), std::string::npos)
        << i << ": " << loaded.status().ToString();
    EXPECT_FALSE(
        Restore(*target_, id, (root_ / ("r" + std::to_string(i))).string(), std::nullopt).ok());
    EXPECT_FALSE(fs::exists(root_ / ("r" + std::to_string(i))));
  }
  // Without a key a forger can list other bytes under an attachment's key with a valid hash
  // tree: its SHA-256 still gives it away, in verify and restore.
  nlohmann::json swapped = genuine;
  for (const char* field : {"size", "hash", "chunks"}) {
    swapped["blobs"][0][field] = genuine["blobs"][2][field];
  }
  swapped["blob_bytes"] = genuine["blob_bytes"].get<uint64_t>() -
                          genuine["blobs"][0]["size"].get<uint64_t>() +
                          genuine["blobs"][2]["size"].get<uint64_t>();
  const std::string id = "20260201T000000000Z-000001";
  Plant(id, swapped, std::nullopt);
  auto checks = Verify(*target_, id, std::nullopt);
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  size_t bad = 0;
  for (const auto& c : *checks) {
    if (c.status.ok()) continue;
    ++bad;
    EXPECT_EQ(c.path, "attachments/" + att);
    EXPECT_NE(c.status.message().find("SHA-256"), std::string::npos) << c.status.ToString();
  }
  EXPECT_EQ(bad, 1u);
  Status st = Restore(*target_, id, (root_ / "swapped").string(), std::nullopt);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find(att), std::string::npos) << st.ToString();
  EXPECT_FALSE(fs::exists(root_ / "swapped"));
}

TEST_F(ForgedBackupTest, ABlobIndexIsCheckedEntryByEntryAndAgainstItsManifest) {
  auto live = blob::OpenLocalBlobStore((root_ / "attachments").string());
  ASSERT_TRUE(live.ok());
  const std::string bytes(50'000, 'q');
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  const std::string sha = hex;
  const std::string att = "att/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  ASSERT_TRUE((*live)->Put(att, bytes).ok());
  for (const char* key : {"meta/att/0001.json", "meta/att/0002.json", "meta/att/0003.json"}) {
    ASSERT_TRUE((*live)->Put(key, std::string("{\"k\":\"") + key + "\"}").ok());
  }
  ASSERT_TRUE((*live)->Put("thumb/" + sha + ".webp", "a thumbnail").ok());
  options_.blobs = live->get();
  const Manifest real = Backup();
  ASSERT_EQ(real.blob_count, 5u);
  const nlohmann::json genuine = ManifestJson(real.id);
  ASSERT_EQ(genuine["format"], 4);
  const std::vector<BlobEntry> entries = testing::Entries(*target_, real, std::nullopt);
  ASSERT_EQ(entries.size(), 5u);
  ASSERT_EQ(entries[0].key, att);
  // The genuine index, re-cut into 97-byte chunks (entries span chunks), still reads.
  {
    nlohmann::json j = genuine;
    j["blob_index"] = testing::PutIndex(*target_, testing::IndexText(entries), 97, std::nullopt);
    Plant("20260101T000000000Z-000001", j, std::nullopt);
    auto m = Load(*target_, "20260101T000000000Z-000001", std::nullopt);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_GT(m->blob_index.chunks.size(), 10u);
    EXPECT_EQ(testing::Entries(*target_, *m, std::nullopt).size(), 5u);
    auto checks = Verify(*target_, m->id, std::nullopt);
    ASSERT_TRUE(checks.ok()) << checks.status().ToString();
    for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.path;
  }
  // Each forgery: the index text (from the genuine entries), then the manifest's fields.
  struct Case {
    std::function<std::string(std::vector<BlobEntry>)> text;
    std::function<void(nlohmann::json&)> manifest;
    std::string reason;
  };
  auto text = [](std::vector<BlobEntry> e) { return testing::IndexText(e); };
  auto same = [](nlohmann::json&) {};
  const std::vector<Case> cases = {
      {[](auto e) {
         e[4].key = "../../etc/passwd";
         return testing::IndexText(e);
       },
       same, "../../etc/passwd"},
      {[](auto e) {
         e[4].key = "uploads/0123/state";
         return testing::IndexText(e);
       },
       same, "not a key of attachments"},
      {[](auto e) {
         e[0].sha256 = std::string(64, 'a');
         return testing::IndexText(e);
       },
       same, "is not its name"},
      {[](auto e) {
         e[1].chunks = {"../../x"};
         return testing::IndexText(e);
       },
       same, "bad chunk id"},
      {[](auto e) {
         e[0].size = 99'000'000;
         return testing::IndexText(e);
       },
       same, "does not fit its chunk count"},
      {[](auto e) {
         std::swap(e[1], e[2]);
         return testing::IndexText(e);
       },
       same, "is not sorted"},
      {[](auto e) {
         e[2] = e[1];
         return testing::IndexText(e);
       },
       same, "twice"},
      {text, [](auto& j) { j["blob_count"] = 6; }, "not its blob_count"},
      {text, [](auto& j) { j["blob_count"] = 4; }, "more objects than its blob_count"},
      {text, [](auto& j) { j["blob_bytes"] = j["blob_bytes"].template get<uint64_t>() + 1; },
       "do not add up"},
      {text, [](auto& j) { j["blob_bytes"] = 5; }, "do not add up"},
      {[](auto e) {  // the last entry cut off: one object fewer than the manifest says
         e.pop_back();
         return testing::IndexText(e);
       },
       same, "not its blob_count"},
      {[](auto e) {  // cut off in the middle of an entry
         const std::string t = testing::IndexText(e);
         return t.substr(0, t.size() - 20);
       },
       same, "ends in the middle of an entry"},
      {[](auto e) {
         e.pop_back();
         return testing::IndexText(e) + "not json\n";
       },
       same, "does not parse"},
      {[](auto e) { return "{}\n" + testing::IndexText(e); }, same, "does not parse"},
      {text,
       [](auto& j) {
         j["blob_index"]["hash"] = testing::TreeHashHex(
             j["blob_index"]["size"].template get<uint64_t>() + 1,
             j["blob_index"]["chunks"].template get<std::vector<std::string>>(), std::nullopt);
       },
       "does not match its hash"},
      {text,
       [](auto& j) {
         const auto ids = j["blob_index"]["chunks"].template get<std::vector<std::string>>();
         const uint64_t size = j["blob_index"]["size"].template get<uint64_t>() + 1;
         j["blob_index"]["size"] = size;
         j["blob_index"]["hash"] = testing::TreeHashHex(size, ids, std::nullopt);
       },
       "shorter than its size"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    nlohmann::json j = genuine;
    j["blob_index"] =
        testing::PutIndex(*target_, cases[i].text(entries), i % 2 ? 97 : 64 << 10, std::nullopt);
    cases[i].manifest(j);
    const std::string id = "202602" + std::to_string(10 + i) + "T000000000Z-000001";
    Plant(id, j, std::nullopt);
    // The manifest itself checks out: the index is checked as it is read.
    auto m = Load(*target_, id, std::nullopt);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    Status st =
        ForEachBlob(*target_, *m, std::nullopt, [](const BlobEntry&) { return Status::Ok(); });
    EXPECT_EQ(st.code(), Code::kCorruption);
    EXPECT_NE(st.message().find(cases[i].reason), std::string::npos) << st.ToString();
    auto checks = Verify(*target_, id, std::nullopt);
    EXPECT_EQ(checks.status().code(), Code::kCorruption);
    const fs::path out = root_ / ("r" + std::to_string(i));
    st = Restore(*target_, id, out.string(), std::nullopt);
    EXPECT_EQ(st.code(), Code::kCorruption);
    EXPECT_NE(st.message().find("nothing restored"), std::string::npos) << st.ToString();
    EXPECT_FALSE(fs::exists(out));
    // Into a store of the caller's: nothing written there either.
    auto other = blob::OpenLocalBlobStore((root_ / ("o" + std::to_string(i))).string());
    ASSERT_TRUE(other.ok());
    RestoreOptions into;
    into.blobs = other->get();
    EXPECT_EQ(Restore(*target_, id, (out.string() + "b"), std::nullopt, into).code(),
              Code::kCorruption);
    for (const char* prefix : kBlobPrefixes) EXPECT_TRUE((*other)->List(prefix)->empty());
    ASSERT_TRUE(target_->Remove("manifests/" + id).ok());
  }
  // Manifest fields of the index are checked when it is loaded.
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> loads = {
      {[](auto& j) { j["blob_index"]["chunks"][0] = "../../x"; }, "bad chunk id"},
      {[](auto& j) { j["blob_index"]["hash"] = "zz"; }, "bad hash for its blob index"},
      {[](auto& j) { j["blob_index"]["size"] = uint64_t{1} << 40; }, "blob index does not fit"},
      {[](auto& j) { j["blob_count"] = 1'000'000; }, "blob_count does not fit"},
      {[](auto& j) { j.erase("blob_index"); }, "does not parse"},
  };
  for (size_t i = 0; i < loads.size(); ++i) {
    nlohmann::json j = genuine;
    loads[i].first(j);
    const std::string id = "202603" + std::to_string(10 + i) + "T000000000Z-000001";
    Plant(id, j, std::nullopt);
    auto m = Load(*target_, id, std::nullopt);
    EXPECT_EQ(m.status().code(), Code::kCorruption) << i;
    EXPECT_NE(m.status().message().find(loads[i].second), std::string::npos)
        << i << ": " << m.status().ToString();
    ASSERT_TRUE(target_->Remove("manifests/" + id).ok());
  }
  // Pruning reads the index of every backup it keeps: a bad one stops it, nothing removed.
  std::vector<BlobEntry> unsorted = entries;
  std::swap(unsorted[1], unsorted[2]);
  nlohmann::json bad = genuine;
  bad["blob_index"] =
      testing::PutIndex(*target_, testing::IndexText(unsorted), 64 << 10, std::nullopt);
  usleep(2'000);
  Plant(testing::IdAt(NowMillis()), bad, std::nullopt);  // after `real`
  usleep(2'000);
  const Manifest newest = Backup();
  ASSERT_EQ(List(*target_, std::nullopt)->size(), 4u);  // and the re-cut genuine one
  auto pruned = Prune(*target_, Retention{2, 0}, std::nullopt, NowMillis());
  EXPECT_EQ(pruned.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(pruned.status().message().find("not sorted"), std::string::npos)
      << pruned.status().ToString();
  EXPECT_EQ(List(*target_, std::nullopt)->size(), 4u);
  auto checks = Verify(*target_, real.id, std::nullopt);
  ASSERT_TRUE(checks.ok());
  for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.path;
  (void)newest;
}

// Found by fuzz/manifest_fuzz.cc: a size of 4e116 was converted to an integer without a
// check (undefined behaviour). Every count and size must be an integer in its range.
TEST(ManifestNumbersTest, SizesAndCountsAreIntegersInRange) {
  const std::string hash(64, 'a');
  const auto manifest = [&](const std::string& bytes) {
    return R"({"format":2,"id":"20260101T000000000Z-00abcd","created_ms":1767225600000,)"
           R"("kind":"full","parent":"","encrypted":false,"messages":1,"bytes":)" +
           bytes +
           R"(,"new_bytes":0,"stored_bytes":0,"seconds":0.5,"files":[{"path":"CURRENT",)"
           R"("size":)" +
           bytes + R"(,"hash":")" + hash + R"(","chunks":[")" + hash + R"("]}]})";
  };
  const int64_t now = 1767225600000 + 1000;
  ASSERT_TRUE(ParseManifest(manifest("300"), "20260101T000000000Z-00abcd", now).ok());
  for (const char* bad : {"4e116", "-300", "300.5", "18446744073709551616", "\"300\""}) {
    auto m = ParseManifest(manifest(bad), "20260101T000000000Z-00abcd", now);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), Code::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace parley::backup
