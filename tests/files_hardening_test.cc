// Files and backups under attack (issue 10, items 9 and 10), against the real parleyd and
// the real `parley` CLI:
// - the data directory, backup target, restored stores, exports and the CLI's session are
//   owner-only; a loose existing data directory is tightened; parleyd refuses a key file or
//   a token-holding config file that other users can read; export and restore never
//   follow a planted symlink;
// - forged backup objects on the target (a manifest declaring 16 GiB, chunk ids that are
//   paths, a manifest dated 2099, a plain manifest beside a key) never crash parleyd, its
//   scheduler or the CLI, are listed as invalid with a reason, and never become "latest".
#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "backup/backup.h"
#include "backup/codec.h"
#include "client/http_request.h"
#include "tests/support/command.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/temp_dir.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using testing::ServerOptions;
using testing::ServerProcess;
using namespace std::chrono_literals;

constexpr char kToken[] = "test-admin-token-0123456789";

// Runs the `parley` CLI with a time limit (a CLI that hangs on a forged backup fails the
// test instead of hanging it); its exit code, and its output in *out.
int RunCli(const std::string& args, std::string* out = nullptr, const std::string& env = "") {
  const std::string cmd =
      env + " timeout 120 " + std::string(PARLEY_CLI_PATH) + " " + args + " 2>&1 < /dev/null";
  return test::RunCommand(cmd, out);
}

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 07777;
  return st.st_mode & 07777;
}

// Entries of `dir` (itself included) that other users or the group may access.
std::vector<std::string> LooseEntries(const fs::path& dir) {
  std::vector<std::string> out;
  if ((ModeOf(dir) & 077) != 0) out.push_back(dir.string() + " " + std::to_string(ModeOf(dir)));
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_symlink()) continue;
    const mode_t mode = ModeOf(it->path());
    if ((mode & 077) != 0) {
      char octal[16];  // room for any unsigned in octal
      std::snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode));
      out.push_back(it->path().string() + " " + octal);
    }
  }
  return out;
}

size_t CountEntries(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    ++n;
  }
  return n;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FilesHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("PARLEY_ADMIN_TOKEN"); }
  void TearDown() override { server_.reset(); }

  std::string Target() const { return work_ + "/target"; }
  std::string KeyPath() const { return work_ + "/backup.key"; }
  std::string NewKey() {
    EXPECT_EQ(RunCli("admin backup keygen --out " + KeyPath()), 0);
    return KeyPath();
  }
  // [backup] (with `key`, if any) and [admin], plus `extra`.
  std::string BackupConfig(const std::string& key, const std::string& extra = "") const {
    std::string c = std::string(testing::kFastHashes) + "[backup]\ntarget = \"" + Target() + "\"\n";
    if (!key.empty()) c += "key_file = \"" + key + "\"\n";
    return c + extra + "[admin]\ntoken = \"" + kToken + "\"\n";
  }
  Status Start(const std::string& config, const std::string& data_dir = "") {
    ServerOptions opts;
    opts.config_toml = config;
    opts.data_dir = data_dir;
    auto s = ServerProcess::Start(opts);
    if (!s.ok()) return s.status();
    server_ = std::move(s).value();
    return Status::Ok();
  }
  client::HttpResponse Admin(const std::string& method, const std::string& path) {
    client::HttpRequestSpec spec;
    spec.port = server_->port();
    spec.method = method;
    spec.path = path;
    spec.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
    spec.timeout_s = 120;
    auto r = client::HttpRequest(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : client::HttpResponse{};
  }
  nlohmann::json TakeBackup() {
    auto r = Admin("POST", "/admin/backup");
    EXPECT_EQ(r.status, 200) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }
  nlohmann::json Listing() {
    auto r = Admin("GET", "/admin/backups");
    EXPECT_EQ(r.status, 200) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }
  void SendSomething() {
    client::ConnectOptions o;
    o.url = server_->url();
    client::BlockingClient c(o, 30s);
    ASSERT_TRUE(c.Connect().ok());
    ASSERT_TRUE(c.Register("alice", "alice-password").ok());
    ASSERT_TRUE(c.Login("alice", "alice-password", "laptop").ok());
    auto conv = c.CreateGroup("notes", {});
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    ASSERT_TRUE(c.Send(conv->id, "a private message").ok());
  }
  bool Alive() {
    int code = 0;
    auto body = server_->HttpGet("/healthz", &code);
    return server_->running() && ::kill(server_->pid(), 0) == 0 && body.ok() && code == 200;
  }

  // The manifest of backup `id` as JSON.
  nlohmann::json ManifestJson(const std::string& id, const std::optional<backup::Key>& key) {
    auto target = backup::OpenDirTarget(Target());
    EXPECT_TRUE(target.ok());
    auto blob = (*target)->Get("manifests/" + id, 64 << 20);
    EXPECT_TRUE(blob.ok()) << blob.status().ToString();
    auto text = backup::Open(*blob, key, 64 << 20);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return nlohmann::json::parse(*text);
  }
  // Writes a forged manifest straight into the target (as anyone who can write there can):
  // `j` as manifest `id` dated like the id, plain with a valid checksum.
  void PlantManifest(const std::string& id, nlohmann::json j) {
    j["id"] = id;
    struct tm tm {};
    ASSERT_NE(strptime(id.substr(0, 15).c_str(), "%Y%m%dT%H%M%S", &tm), nullptr);
    j["created_ms"] = int64_t{timegm(&tm)} * 1000 + std::stoi(id.substr(15, 3));
    PlantBlob(id, backup::Seal(j.dump(), std::nullopt));
  }
  void PlantBlob(const std::string& id, const std::string& blob) {
    fs::create_directories(Target() + "/manifests");
    std::ofstream(Target() + "/manifests/" + id, std::ios::binary) << blob;
  }
  // 205 bytes declaring a 16 GiB manifest, with a valid checksum.
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
    return out + body;
  }
  // Plants the forged manifests of item 10 next to genuine backup `genuine`; returns
  // their ids.
  std::vector<std::string> PlantForgeries(const nlohmann::json& genuine) {
    std::vector<std::string> ids;
    PlantBlob("20260101T000000000Z-000016", Forged16GiB());
    ids.push_back("20260101T000000000Z-000016");
    // Chunk ids that are paths: to /dev/zero (an endless read) and to a file outside.
    { std::ofstream(work_ + "/secret") << "not a chunk"; }
    const std::vector<std::string> paths = {"../../../../../../../../../../../../../../dev/zero",
                                            "/dev/zero", "../../../secret"};
    for (size_t i = 0; i < paths.size(); ++i) {
      nlohmann::json j = genuine;
      j["files"][0]["chunks"][0] = paths[i];
      const std::string id = "2026010" + std::to_string(i + 2) + "T000000000Z-0000aa";
      PlantManifest(id, j);
      ids.push_back(id);
    }
    PlantManifest(kFutureId, genuine);  // a genuine manifest's content, dated 2099
    ids.push_back(kFutureId);
    return ids;
  }

  static constexpr char kFutureId[] = "20991231T235959000Z-abcdef";
  const test::TempDir work_dir_{"parley-files-test-"};
  const std::string work_ = work_dir_.path();
  std::unique_ptr<ServerProcess> server_;
};

// ---- Item 9: private files ----

TEST_F(FilesHardeningTest, DataDirectoryAndEveryFileInItArePrivate) {
  ASSERT_TRUE(Start(testing::kFastHashes).ok());
  SendSomething();
  const std::string data = server_->data_dir();
  ASSERT_TRUE(server_->Stop().ok());
  EXPECT_GT(CountEntries(data), 3u);
  EXPECT_EQ(ModeOf(data), 0700u);
  const auto loose = LooseEntries(data);
  EXPECT_TRUE(loose.empty()) << loose.size() << " loose, e.g. " << loose.front();
}

TEST_F(FilesHardeningTest, AnExistingLooseDataDirectoryIsTightenedAtStart) {
  const std::string data = work_ + "/data";
  ASSERT_TRUE(Start(testing::kFastHashes, data).ok());
  SendSomething();
  ASSERT_TRUE(server_->Stop().ok());
  // As an older parleyd (umask 022) or a careless copy left it.
  ::chmod(data.c_str(), 0755);
  for (const auto& e : fs::recursive_directory_iterator(data)) {
    ::chmod(e.path().c_str(), e.is_directory() ? 0755 : 0644);
  }
  ASSERT_FALSE(LooseEntries(data).empty());
  ASSERT_TRUE(server_->Restart().ok());
  const auto loose = LooseEntries(data);
  EXPECT_TRUE(loose.empty()) << loose.size() << " loose, e.g. " << loose.front();
}

TEST_F(FilesHardeningTest, RefusesToStartOnAKeyFileOthersCanRead) {
  const std::string key = NewKey();
  EXPECT_EQ(ModeOf(key), 0600u);
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  Status st = Start(BackupConfig(key));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("backup key file"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("0644"), std::string::npos) << st.message();
  // The CLI refuses it too.
  std::string out;
  fs::create_directories(Target());
  EXPECT_EQ(RunCli("admin backup list --target " + Target() + " --key " + key, &out), 1) << out;
  EXPECT_NE(out.find("0644"), std::string::npos) << out;
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  EXPECT_TRUE(Start(BackupConfig(key)).ok());
}

TEST_F(FilesHardeningTest, RefusesToStartOnAConfigFileWithATokenOthersCanRead) {
  const std::string config = work_ + "/parleyd.toml";
  std::ofstream(config) << testing::kFastHashes << "[admin]\ntoken = \"" << kToken << "\"\n";
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  ServerOptions opts;
  opts.args = {"--config", config};
  auto s = ServerProcess::Start(opts);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("config file"), std::string::npos) << s.status().message();
  ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
  EXPECT_TRUE(ServerProcess::Start(opts).ok());
  // Without a token, the config holds no secret: any mode is fine.
  std::ofstream(config) << testing::kFastHashes;
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  EXPECT_TRUE(ServerProcess::Start(opts).ok());
}

TEST_F(FilesHardeningTest, BackupTargetRestoredStoreExportAndSessionArePrivate) {
  ASSERT_TRUE(Start(BackupConfig(NewKey())).ok());
  SendSomething();
  TakeBackup();
  EXPECT_GT(CountEntries(Target()), 3u);
  auto loose = LooseEntries(Target());
  EXPECT_TRUE(loose.empty()) << loose.size() << " loose, e.g. " << loose.front();

  std::string out;
  const std::string restored = work_ + "/restored";
  ASSERT_EQ(RunCli("admin backup restore latest --to " + restored + " --target " + Target() +
                       " --key " + KeyPath(),
                   &out),
            0)
      << out;
  EXPECT_EQ(ModeOf(restored), 0700u);
  loose = LooseEntries(restored);
  EXPECT_TRUE(loose.empty()) << loose.size() << " loose, e.g. " << loose.front();

  // The CLI's saved session holds a bearer token.
  const std::string home = work_ + "/home";
  const std::string env = "PARLEY_HOME=" + home + " PARLEY_SERVER=" + server_->url();
  ASSERT_EQ(RunCli("login alice --password alice-password --device cli", &out, env), 0) << out;
  EXPECT_GT(CountEntries(home), 0u);
  loose = LooseEntries(home);
  EXPECT_TRUE(loose.empty()) << loose.size() << " loose, e.g. " << loose.front();

  const std::string data = server_->data_dir();
  ASSERT_TRUE(server_->Stop().ok());
  const std::string exported = work_ + "/export.jsonl";
  ASSERT_EQ(RunCli("admin export --data " + data + " --out " + exported, &out), 0) << out;
  EXPECT_NE(ReadFile(exported).find("a private message"), std::string::npos);
  EXPECT_EQ(ModeOf(exported), 0600u);
}

TEST_F(FilesHardeningTest, ExportDoesNotFollowSymlinksPlantedAtTheOldTempPathOrTheTarget) {
  ASSERT_TRUE(Start(testing::kFastHashes).ok());
  SendSomething();
  const std::string data = server_->data_dir();
  ASSERT_TRUE(server_->Stop().ok());
  const std::string out_file = work_ + "/out.jsonl";
  const std::string victim_tmp = work_ + "/victim-tmp", victim = work_ + "/victim";
  { std::ofstream(victim_tmp) << "precious 1"; }
  { std::ofstream(victim) << "precious 2"; }
  fs::create_symlink(victim_tmp, out_file + ".tmp");  // the old, predictable temp name
  std::string out;
  ASSERT_EQ(RunCli("admin export --data " + data + " --out " + out_file, &out), 0) << out;
  EXPECT_EQ(ReadFile(victim_tmp), "precious 1");
  EXPECT_NE(ReadFile(out_file).find("a private message"), std::string::npos);
  // A symlink at the output itself is replaced, never written through.
  fs::remove(out_file);
  fs::create_symlink(victim, out_file);
  ASSERT_EQ(RunCli("admin export --data " + data + " --out " + out_file, &out), 0) << out;
  EXPECT_EQ(ReadFile(victim), "precious 2");
  EXPECT_FALSE(fs::is_symlink(out_file));
  EXPECT_EQ(ModeOf(out_file), 0600u);
  EXPECT_NE(ReadFile(out_file).find("a private message"), std::string::npos);
}

// ---- Item 10: forged backups ----

TEST_F(FilesHardeningTest, ForgedManifestsNeitherCrashTheServerNorBecomeLatest) {
  // No key: forged plain objects carry valid checksums, so only the checks of ids, sizes
  // and dates stand between them and the server.
  ASSERT_TRUE(Start(BackupConfig("")).ok());
  SendSomething();
  const std::string real = TakeBackup().value("id", "?");
  const auto forged = PlantForgeries(ManifestJson(real, std::nullopt));

  // Listing answers, with the forged ones invalid (and why), and the server stays up.
  for (int round = 0; round < 3; ++round) {
    nlohmann::json list = Listing();
    ASSERT_TRUE(list.is_array()) << list.dump();
    ASSERT_EQ(list.size(), forged.size() + 1) << list.dump();
    EXPECT_EQ(list.back().value("id", ""), real);
    EXPECT_TRUE(list.back().value("valid", false));
    for (size_t i = 0; i + 1 < list.size(); ++i) {
      EXPECT_FALSE(list[i].value("valid", true)) << list[i].dump();
      EXPECT_NE(list[i].value("error", ""), "") << list[i].dump();
    }
    ASSERT_TRUE(Alive());
  }
  const std::string listed = Admin("GET", "/admin/backups").body;
  EXPECT_NE(listed.find("over the limit"), std::string::npos) << listed;
  EXPECT_NE(listed.find("bad chunk id"), std::string::npos) << listed;
  EXPECT_NE(listed.find("dated in the future"), std::string::npos) << listed;

  // The next backup builds on the genuine one, not on the forged 2099 one.
  const nlohmann::json next = TakeBackup();
  EXPECT_EQ(next.value("kind", ""), "incremental");
  EXPECT_EQ(next.value("parent", ""), real);
  ASSERT_TRUE(Alive());

  // The CLI: verify and restore of each forged backup fail cleanly (exit 1, within the
  // time limit) and restore nothing; "latest" is the newest genuine backup.
  std::string out;
  for (const auto& id : forged) {
    EXPECT_EQ(RunCli("admin backup verify " + id + " --target " + Target(), &out), 1)
        << id << ": " << out;
    const std::string dir = work_ + "/r-" + id;
    EXPECT_EQ(RunCli("admin backup restore " + id + " --to " + dir + " --target " + Target(), &out),
              1)
        << id << ": " << out;
    EXPECT_FALSE(fs::exists(dir)) << id;
  }
  EXPECT_EQ(ReadFile(work_ + "/secret"), "not a chunk");
  ASSERT_EQ(RunCli("admin backup verify latest --target " + Target(), &out), 0) << out;
  EXPECT_NE(out.find(next.value("id", "?")), std::string::npos) << out;
  ASSERT_EQ(RunCli("admin backup list --target " + Target(), &out), 0) << out;
  EXPECT_NE(out.find("INVALID"), std::string::npos) << out;
  ASSERT_TRUE(Alive());
}

TEST_F(FilesHardeningTest, PlainManifestsAreRefusedWhenAKeyIsConfigured) {
  const std::string key_file = NewKey();
  ASSERT_TRUE(Start(BackupConfig(key_file)).ok());
  SendSomething();
  const std::string real = TakeBackup().value("id", "?");
  auto key = backup::LoadKey(key_file);
  ASSERT_TRUE(key.ok());
  const nlohmann::json genuine = ManifestJson(real, *key);
  // Plain copies of a genuine manifest: one dated 2099, one dated just after the real one.
  PlantManifest(kFutureId, genuine);
  const std::string soon = real.substr(0, 20) + "ffffff";
  PlantManifest(soon, genuine);

  nlohmann::json list = Listing();
  ASSERT_EQ(list.size(), 3u) << list.dump();
  EXPECT_EQ(list.back().value("id", ""), real);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(list[i].value("valid", true)) << list[i].dump();
    EXPECT_NE(list[i].value("error", "").find("not encrypted"), std::string::npos)
        << list[i].dump();
  }
  std::string out;
  const std::string args = " --target " + Target() + " --key " + key_file;
  EXPECT_EQ(RunCli("admin backup verify " + std::string(kFutureId) + args, &out), 1) << out;
  EXPECT_EQ(RunCli("admin backup verify " + soon + args, &out), 1) << out;
  ASSERT_EQ(RunCli("admin backup verify latest" + args, &out), 0) << out;
  EXPECT_NE(out.find(real), std::string::npos) << out;
  // And the next backup builds on the genuine one.
  EXPECT_EQ(TakeBackup().value("parent", ""), real);
  ASSERT_TRUE(Alive());
}

TEST_F(FilesHardeningTest, TheSchedulerSurvivesForgedManifests) {
  // A genuine backup to copy from, then the forgeries, then a server that backs up every
  // second (listing the target each time, and pruning).
  ASSERT_TRUE(Start(BackupConfig("")).ok());
  SendSomething();
  const std::string real = TakeBackup().value("id", "?");
  const std::string data = server_->data_dir();
  const auto genuine = ManifestJson(real, std::nullopt);
  ASSERT_TRUE(server_->Stop().ok());
  const auto forged = PlantForgeries(genuine);
  const std::string scheduled = "incremental_every_s = 1\nkeep_last = 1\n";
  ASSERT_TRUE(Start(BackupConfig("", scheduled), work_ + "/data2").ok());
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  double successes = 0;
  while (successes < 2 && std::chrono::steady_clock::now() < deadline && server_->running()) {
    auto metrics = server_->HttpGet("/metrics");
    if (!metrics.ok()) break;  // the server died
    const auto at = metrics->find("\nparley_backup_successes_total ");
    if (at != std::string::npos) {
      successes = std::strtod(metrics->c_str() + at + 32, nullptr);
    }
    std::this_thread::sleep_for(100ms);  // poll interval
  }
  EXPECT_GE(successes, 2);
  ASSERT_TRUE(Alive());
  nlohmann::json list = Listing();
  ASSERT_TRUE(list.is_array());
  size_t invalid = 0;
  for (const auto& e : list) invalid += e.value("valid", true) ? 0 : 1;
  EXPECT_EQ(invalid, forged.size());  // pruning left them (and what they name) alone
}

}  // namespace
}  // namespace parley
