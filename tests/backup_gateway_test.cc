// Backups of a live server, end to end: a real parleyd with [backup] and [admin] takes
// backups through its admin endpoint while clients send; the `parley` CLI verifies and
// restores them into new directories; a second parleyd started on a restored directory
// serves every message, cursor and sync event, and searches (its index is rebuilt).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>
#include <tuple>

#include "client/attachment_info.h"
#include "client/attachment_transfer.h"
#include "client/http_request.h"
#include "s3/s3_client.h"
#include "tests/support/command.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/radosgw_server.h"
#include "tests/support/temp_dir.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using client::HistoryQuery;
using testing::ServerOptions;
using testing::ServerProcess;
using namespace std::chrono_literals;

constexpr char kToken[] = "test-admin-token-0123456789";

// Runs the `parley` CLI; returns its exit code and its stdout in *out.
int RunCli(const std::string& args, std::string* out = nullptr) {
  const std::string cmd = std::string(PARLEY_CLI_PATH) + " " + args + " 2>&1";
  return test::RunCommand(cmd, out);
}

size_t CountFiles(const fs::path& dir, const std::string& contains = "") {
  size_t n = 0;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().filename().string().find(contains) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

// What one user sees: per conversation every message and the read cursor, and the whole
// sync timeline (each device's view of "everything after my cursor").
struct UserView {
  std::map<ConvId, std::vector<std::tuple<Seq, uint64_t, UserId, std::string, bool, int64_t>>>
      messages;
  std::map<ConvId, Seq> read_seq;
  std::vector<std::tuple<Seq, int, ConvId, Seq>> events;  // user_seq, type, conv, conv_seq
};

UserView ViewOf(client::BlockingClient& c) {
  UserView v;
  auto convs = c.Convs();
  EXPECT_TRUE(convs.ok()) << convs.status().ToString();
  if (!convs.ok()) return v;
  for (const auto& s : *convs) {
    v.read_seq[s.conv.id] = s.read_seq;
    auto& out = v.messages[s.conv.id];
    HistoryQuery q;
    q.after = 0;
    q.limit = 200;
    for (int page = 0; page < 100; ++page) {
      auto h = c.History(s.conv.id, q);
      EXPECT_TRUE(h.ok()) << h.status().ToString();
      if (!h.ok()) break;
      for (const auto& m : h->messages) {
        out.emplace_back(m.seq, m.msg_id, m.sender, m.body, m.recalled, m.edited_ms);
      }
      if (!h->has_more_after || h->messages.empty()) break;
      q.after = h->messages.back().seq;
    }
  }
  Seq since = 0;
  for (int page = 0; page < 1000; ++page) {
    auto r = c.Sync(since, 500);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    for (const auto& it : r->items) {
      v.events.emplace_back(it.event.user_seq, static_cast<int>(it.event.type), it.event.conv_id,
                            it.event.conv_seq);
    }
    since = r->next;
    if (!r->has_more) break;
  }
  return v;
}

class BackupGatewayTest : public testing::GatewayFixture {
 protected:
  void SetUp() override {
    ::unsetenv("PARLEY_ADMIN_TOKEN");  // the tests pass tokens explicitly
    ASSERT_EQ(RunCli("admin backup keygen --out " + Key()), 0);
    StartServer(BackupConfig());
  }
  void TearDown() override { server_.reset(); }

  std::string Target() const { return work_ + "/target"; }
  std::string Key() const { return work_ + "/backup.key"; }
  std::string TargetArgs() const { return " --target " + Target() + " --key " + Key(); }
  std::string BackupConfig() const {
    return "[limits]\nsend_rate_per_conn = 0\nsend_rate_per_user = 0\n[backup]\ntarget = \"" +
           Target() + "\"\nkey_file = \"" + Key() + "\"\n[admin]\ntoken = \"" + kToken + "\"\n";
  }

  client::HttpResponse Admin(const std::string& method, const std::string& path,
                             const std::string& token = kToken, ServerProcess* server = nullptr) {
    client::HttpRequestSpec spec;
    spec.port = (server ? server : server_.get())->port();
    spec.method = method;
    spec.path = path;
    if (!token.empty()) spec.headers.emplace_back("Authorization", "Bearer " + token);
    spec.timeout_s = 120;
    auto r = client::HttpRequest(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : client::HttpResponse{};
  }
  nlohmann::json TakeBackup(bool full) {
    auto r = Admin("POST", full ? "/admin/backup?full=1" : "/admin/backup");
    EXPECT_EQ(r.status, 200) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  // A parleyd on `data_dir` (a restored directory), without backups.
  std::unique_ptr<ServerProcess> StartOn(const std::string& data_dir) {
    ServerOptions opts;
    opts.data_dir = data_dir;
    opts.config_toml = testing::kFastHashes;
    auto s = ServerProcess::Start(opts);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static std::unique_ptr<client::BlockingClient> LoginOn(ServerProcess& server,
                                                         const std::string& name,
                                                         const std::string& device) {
    client::ConnectOptions o;
    o.url = server.url();
    auto c = std::make_unique<client::BlockingClient>(o, 30s);
    EXPECT_TRUE(c->Connect().ok());
    auto l = c->Login(name, name + "-password", device);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return c;
  }

  const test::TempDir work_dir_{"parley-backup-test-"};
  const std::string work_ = work_dir_.path();
};

TEST_F(BackupGatewayTest, BackupWhileSendingRestoresEveryMessageCursorAndEvent) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto carol = Device("carol", "c1");
  auto group = alice->CreateGroup("team", {client::UserArg("bob"), client::UserArg("carol")});
  ASSERT_TRUE(group.ok());
  auto direct = bob->OpenDirect(client::UserArg("alice"));
  ASSERT_TRUE(direct.ok());

  // Three senders on their own connections; the full backup starts while they send.
  constexpr int kPerSender = 300;
  std::atomic<int> acked[3] = {0, 0, 0};
  std::vector<std::thread> senders;
  const std::vector<std::pair<std::string, ConvId>> plan = {
      {"alice", group->id}, {"bob", direct->id}, {"carol", group->id}};
  for (int s = 0; s < 3; ++s) {
    senders.emplace_back([&, s] {
      auto c = Device(plan[s].first, "sender");
      for (int i = 0; i < kPerSender; ++i) {
        auto ack = c->Send(plan[s].second, plan[s].first + " message " + std::to_string(i));
        if (!ack.ok()) break;
        acked[s]++;
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (acked[0] + acked[1] + acked[2] < 60 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  const int acked_before[3] = {acked[0], acked[1], acked[2]};
  auto full = TakeBackup(true);
  for (auto& t : senders) t.join();
  for (int s = 0; s < 3; ++s) ASSERT_EQ(acked[s], kPerSender) << plan[s].first;
  ASSERT_EQ(full.value("kind", ""), "full");
  EXPECT_TRUE(full.value("encrypted", false));

  // Cursors, an edit, a recall and a findable word, then an incremental on top.
  ASSERT_TRUE(bob->Read(group->id, 250).ok());
  ASSERT_TRUE(alice->Read(direct->id, 300).ok());
  auto zebra = alice->Send(group->id, "a draft");
  ASSERT_TRUE(zebra.ok());
  ASSERT_TRUE(
      alice->Edit(group->id, zebra->seq, "the zebracrossing plan: 备份恢复演练 on Friday").ok());
  ASSERT_TRUE(bob->Recall(direct->id, 2).ok());
  auto inc = TakeBackup(false);
  EXPECT_EQ(inc.value("kind", ""), "incremental");
  EXPECT_EQ(inc.value("parent", ""), full.value("id", "?"));

  std::map<std::string, UserView> before;
  for (auto* c : {alice.get(), bob.get(), carol.get()}) {
    before[c == alice.get() ? "alice" : c == bob.get() ? "bob" : "carol"] = ViewOf(*c);
  }
  ASSERT_EQ(before["bob"].messages[group->id].size(), 2u * kPerSender + 1);

  // The CLI lists, verifies and restores both backups.
  std::string out;
  ASSERT_EQ(RunCli("admin backup list" + TargetArgs(), &out), 0) << out;
  EXPECT_NE(out.find(full.value("id", "?")), std::string::npos) << out;
  ASSERT_EQ(RunCli("admin backup verify" + TargetArgs(), &out), 0) << out;
  ASSERT_EQ(RunCli("admin backup verify " + full.value("id", "?") + TargetArgs(), &out), 0) << out;
  const std::string restored = work_ + "/restored", restored_full = work_ + "/restored-full";
  ASSERT_EQ(RunCli("admin backup restore latest --to " + restored + TargetArgs(), &out), 0) << out;
  ASSERT_EQ(RunCli("admin backup restore " + full.value("id", "?") + " --to " + restored_full +
                       TargetArgs(),
                   &out),
            0)
      << out;

  // The incremental's restore: every user sees exactly what the live server showed.
  auto second = StartOn(restored);
  ASSERT_NE(second, nullptr);
  for (const auto& [name, view] : before) {
    auto c = LoginOn(*second, name, "new-device");
    UserView after = ViewOf(*c);
    EXPECT_EQ(after.messages, view.messages) << name;
    EXPECT_EQ(after.read_seq, view.read_seq) << name;
    // Logins are not timeline events, so the new device's timeline is the old one.
    EXPECT_EQ(after.events, view.events) << name;
  }
  // Search works on the restored server: its index is rebuilt from the restored store.
  auto bob2 = LoginOn(*second, "bob", "search-device");
  client::SearchArgs q;
  q.q = "备份恢复";
  std::vector<SearchHit> hits;
  for (int i = 0; i < 70 && hits.empty(); ++i) {
    auto r = bob2->Search(q);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    hits = r->hits;
    if (hits.empty()) std::this_thread::sleep_for(150ms);
  }
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].seq, zebra->seq);
  // New sends continue every sequence.
  auto next = bob2->Send(group->id, "after the restore");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, zebra->seq + 1);
  second.reset();

  // The full backup is a consistent snapshot taken mid-traffic: each conversation is a
  // gapless prefix of the live one holding at least what was acknowledged before it began.
  auto third = StartOn(restored_full);
  ASSERT_NE(third, nullptr);
  auto bob3 = LoginOn(*third, "bob", "new-device");
  UserView snap = ViewOf(*bob3);
  const auto& live_group = before["bob"].messages[group->id];
  const auto& live_direct = before["bob"].messages[direct->id];
  for (auto [conv, live] :
       {std::pair{group->id, &live_group}, std::pair{direct->id, &live_direct}}) {
    const auto& got = snap.messages[conv];
    ASSERT_LE(got.size(), live->size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(std::get<0>(got[i]), i + 1);                    // gapless
      EXPECT_EQ(std::get<1>(got[i]), std::get<1>((*live)[i]));  // same message
    }
  }
  EXPECT_GE(snap.messages[group->id].size(), size_t(acked_before[0] + acked_before[2]));
  EXPECT_GE(snap.messages[direct->id].size(), size_t(acked_before[1]));
}

TEST_F(BackupGatewayTest, KillNineDuringABackupKeepsEarlierBackupsAndEveryAckedMessage) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto direct = alice->OpenDirect(client::UserArg("bob"));
  ASSERT_TRUE(direct.ok());
  // Enough data (a few MB) that a backup takes long enough to be killed half-way.
  std::mt19937_64 rng(7);
  std::string filler;
  for (int i = 0; i < 2000; ++i) filler += "0123456789abcdef"[rng() % 16];  // incompressible
  int sent = 0;
  for (int i = 0; i < 2000; ++i, ++sent) {
    auto ack = alice->Send(direct->id, std::to_string(i) + " " + filler);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  }
  auto first = TakeBackup(true);
  const std::string first_id = first.value("id", "?");
  ASSERT_EQ(CountFiles(fs::path(Target()) / "manifests"), 1u);
  for (int i = 0; i < 100; ++i, ++sent)
    ASSERT_TRUE(alice->Send(direct->id, "late " + std::to_string(i)).ok());

  // Kill parleyd once its checkpoint exists (the backup has begun), before a manifest.
  bool killed_midway = false;
  const fs::path snapshot = fs::path(server_->data_dir()) / "backup-snapshot";
  for (int attempt = 0; attempt < 5 && !killed_midway; ++attempt) {
    std::thread call([this] {
      client::HttpRequestSpec spec;
      spec.port = server_->port();
      spec.method = "POST";
      spec.path = "/admin/backup?full=1";
      spec.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
      (void)client::HttpRequest(spec);  // fails when the server dies: expected
    });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!fs::exists(snapshot) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    server_->Kill();
    call.join();
    killed_midway = CountFiles(fs::path(Target()) / "manifests") == 1;
    ASSERT_TRUE(server_->Restart().ok());
    if (!killed_midway) {  // the backup won the race; drop it and try again
      for (const auto& e : fs::directory_iterator(fs::path(Target()) / "manifests")) {
        if (e.path().filename().string() != first_id) fs::remove(e.path());
      }
      killed_midway = false;
    }
  }
  ASSERT_TRUE(killed_midway) << "could not kill parleyd during a backup";

  // The restarted server holds every acknowledged message.
  auto bob2 = Device("bob", "b2");
  UserView v = ViewOf(*bob2);
  ASSERT_EQ(v.messages[direct->id].size(), size_t(sent));

  // The earlier backup is intact; the next backup completes and cleans up.
  std::string out;
  ASSERT_EQ(RunCli("admin backup verify " + first_id + TargetArgs(), &out), 0) << out;
  auto next = TakeBackup(false);
  EXPECT_FALSE(fs::exists(snapshot));
  EXPECT_EQ(CountFiles(Target(), ".tmp-"), 0u);
  ASSERT_EQ(RunCli("admin backup verify latest" + TargetArgs(), &out), 0) << out;
  const std::string restored = work_ + "/restored";
  ASSERT_EQ(RunCli("admin backup restore latest --to " + restored + TargetArgs(), &out), 0) << out;
  auto second = StartOn(restored);
  ASSERT_NE(second, nullptr);
  auto bob3 = LoginOn(*second, "bob", "b3");
  EXPECT_EQ(ViewOf(*bob3).messages[direct->id], v.messages[direct->id]);
}

TEST_F(BackupGatewayTest, BadAdminRequestsAreRefusedAndChangeNothing) {
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  auto note = alice->SendTo(client::UserArg("bob"), "hello bob");
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(Admin("POST", "/admin/backup", "").status, 401);
  EXPECT_EQ(Admin("POST", "/admin/backup", "wrong-token-wrong-token-xx").status, 401);
  EXPECT_EQ(Admin("POST", "/admin/backup", std::string(kToken) + "x").status, 401);
  EXPECT_EQ(Admin("GET", "/admin/backup").status, 405);
  EXPECT_EQ(Admin("POST", "/admin/backups").status, 405);
  EXPECT_EQ(Admin("POST", "/admin/nothing-here").status, 404);
  EXPECT_EQ(CountFiles(Target()), 0u);  // nothing was backed up
  std::string out;
  EXPECT_EQ(RunCli("admin backup create --admin-url http://127.0.0.1:" +
                       std::to_string(server_->port()) + " < /dev/null",
                   &out),
            2)
      << out;  // no token: a usage error
  EXPECT_EQ(CountFiles(Target()), 0u);

  // The server still works, and a good request succeeds.
  EXPECT_TRUE(alice->Ping().ok());
  auto ok = Admin("GET", "/admin/backups");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "[]\n");
  auto taken = TakeBackup(false);
  EXPECT_EQ(taken.value("kind", ""), "full");  // nothing to build on: a full one

  // Restore refuses a non-empty directory and leaves it alone; a wrong key is a clear error.
  const std::string busy = work_ + "/busy";
  fs::create_directories(busy);
  { std::ofstream(busy + "/keep.txt") << "mine"; }
  EXPECT_EQ(RunCli("admin backup restore latest --to " + busy + TargetArgs(), &out), 1) << out;
  EXPECT_NE(out.find("not empty"), std::string::npos) << out;
  EXPECT_EQ(CountFiles(busy), 1u);
  const std::string other_key = work_ + "/other.key";
  ASSERT_EQ(RunCli("admin backup keygen --out " + other_key), 0);
  EXPECT_EQ(RunCli("admin backup keygen --out " + other_key), 1);  // never overwrites a key
  EXPECT_EQ(RunCli("admin backup restore latest --to " + work_ + "/r2 --target " + Target() +
                       " --key " + other_key,
                   &out),
            1)
      << out;
  EXPECT_FALSE(fs::exists(work_ + "/r2/CURRENT"));
}

TEST_F(BackupGatewayTest, AdminEndpointsNeedConfiguration) {
  // [admin] without [backup]: 503 for backups. No [admin] token: no admin endpoints at all.
  ServerOptions opts;
  opts.config_toml = std::string(testing::kFastHashes) + "[admin]\ntoken = \"" + kToken + "\"\n";
  auto no_backup = ServerProcess::Start(opts);
  ASSERT_TRUE(no_backup.ok());
  EXPECT_EQ(Admin("POST", "/admin/backup", kToken, no_backup->get()).status, 503);
  opts.config_toml = testing::kFastHashes;
  auto no_admin = ServerProcess::Start(opts);
  ASSERT_TRUE(no_admin.ok());
  EXPECT_EQ(Admin("POST", "/admin/backup", kToken, no_admin->get()).status, 404);
}

}  // namespace
// ---- Backups on S3 (a real radosgw) ----

// The same backups with `[backup] target = "s3://BUCKET/backups"`: taken by parleyd
// (credentials from [s3]), listed, verified and restored by the CLI (credentials from the
// environment), and a damaged object is found by verify.
class BackupS3Test : public BackupGatewayTest {
 protected:
  void SetUp() override {
    ::unsetenv("PARLEY_ADMIN_TOKEN");
    auto gw = test::RadosGw::Shared();
    ASSERT_TRUE(gw.ok()) << gw.status().ToString();
    s3_ = (*gw)->Config("backups-" + std::to_string(::getpid()));
    auto client = s3::S3Client::Create(s3_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    ASSERT_TRUE((*client)->CreateBucket().ok());
    client_ = std::move(*client);
    {
      std::ofstream secret(work_ + "/s3.secret");
      secret << s3_.credentials.secret_key << "\n";
    }
    fs::permissions(work_ + "/s3.secret", fs::perms::owner_read | fs::perms::owner_write);
    ASSERT_EQ(RunCli("admin backup keygen --out " + Key()), 0);
    StartServer("[limits]\nsend_rate_per_conn = 0\nsend_rate_per_user = 0\n[backup]\ntarget = \"" +
                S3Target() + "\"\nkey_file = \"" + Key() + "\"\n[admin]\ntoken = \"" + kToken +
                "\"\n[s3]\nendpoint = \"" + s3_.endpoint + "\"\nregion = \"" + s3_.region +
                "\"\naccess_key = \"" + s3_.credentials.access_key + "\"\nsecret_key_file = \"" +
                work_ + "/s3.secret\"\n");
  }
  std::string S3Target() const { return "s3://" + s3_.bucket + "/backups"; }
  // The CLI's arguments; its credentials come from the environment.
  std::string S3Args() const {
    return " --target " + S3Target() + " --s3-endpoint " + s3_.endpoint + " --s3-region " +
           s3_.region + " --key " + Key();
  }
  int RunCliS3(const std::string& args, std::string* out) {
    return RunCli("admin backup " + args + S3Args(), out);
  }

  s3::S3Config s3_;
  std::unique_ptr<s3::S3Client> client_;
};

TEST_F(BackupS3Test, BackupToS3RestoresEverythingAndVerifyFindsADamagedObject) {
  ::setenv("AWS_ACCESS_KEY_ID", s3_.credentials.access_key.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", s3_.credentials.secret_key.c_str(), 1);
  auto alice = Device("alice", "a1");
  auto bob = Device("bob", "b1");
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(alice->SendTo(client::UserArg{"bob"}, "before " + std::to_string(i)).ok());
  }
  const auto full = TakeBackup(true);
  ASSERT_TRUE(full.value("encrypted", false)) << full.dump();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(bob->SendTo(client::UserArg{"alice"}, "after " + std::to_string(i)).ok());
  }
  const auto inc = TakeBackup(false);
  EXPECT_EQ(inc.value("kind", ""), "incremental") << inc.dump();
  const UserView live = ViewOf(*bob);

  // Everything is in the bucket, under the prefix.
  auto listed = client_->List("backups/manifests/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->objects.size(), 2u);

  std::string out;
  ASSERT_EQ(RunCliS3("list", &out), 0) << out;
  EXPECT_NE(out.find(full.value("id", "?")), std::string::npos) << out;
  EXPECT_NE(out.find(inc.value("id", "?")), std::string::npos) << out;
  ASSERT_EQ(RunCliS3("verify", &out), 0) << out;

  const std::string restored = work_ + "/restored";
  ASSERT_EQ(RunCli("admin backup restore latest --to " + restored + S3Args(), &out), 0) << out;
  server_.reset();
  auto again = StartOn(restored);
  ASSERT_TRUE(again);
  auto bob2 = LoginOn(*again, "bob", "b2");
  const UserView after = ViewOf(*bob2);
  EXPECT_EQ(after.messages, live.messages);
  EXPECT_EQ(after.events, live.events);

  // A chunk damaged in the bucket: verifying the backups that use it (each chunk belongs to
  // at least one of the two) fails and names it.
  auto chunks = client_->List("backups/chunks/");
  ASSERT_TRUE(chunks.ok() && !chunks->objects.empty());
  const std::string victim = chunks->objects.front().first;
  ASSERT_TRUE(client_->Put(victim, "not a sealed chunk").ok());
  const std::string victim_name = victim.substr(std::string("backups/").size());
  int failed = 0;
  for (const auto* backup : {&full, &inc}) {
    if (RunCliS3("verify " + backup->value("id", "?"), &out) != 0) {
      ++failed;
      EXPECT_NE(out.find(victim_name.substr(victim_name.rfind('/') + 1)), std::string::npos) << out;
    }
  }
  EXPECT_GE(failed, 1) << "no verify noticed the damaged " << victim;

  // A wrong secret is a clear error, not a hang or a crash.
  ::setenv("AWS_SECRET_ACCESS_KEY", "wrong", 1);
  EXPECT_NE(RunCliS3("list", &out), 0);
  EXPECT_NE(out.find("SignatureDoesNotMatch"), std::string::npos) << out;
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

// Attachments are in the backups: a file sent before the full backup and one sent before
// the incremental come back, byte for byte, from the restored data directory, and only
// members of their conversation get them there too.
TEST_F(BackupS3Test, AttachmentsComeBackFromTheBackup) {
  ::setenv("AWS_ACCESS_KEY_ID", s3_.credentials.access_key.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", s3_.credentials.secret_key.c_str(), 1);
  LoginReply alice_login;
  auto alice = Device("alice", "a1", &alice_login);
  auto bob = Device("bob", "b1");
  auto carol = Device("carol", "c1");
  auto dm = alice->OpenDirect(client::UserArg{"bob"});
  ASSERT_TRUE(dm.ok());
  auto target = client::TargetForServer(server_->url(), alice_login.token, "");
  ASSERT_TRUE(target.ok());
  // Sends a file of `size` pseudo-random bytes; its id and bytes.
  auto send_file = [&](const std::string& name, size_t size, uint32_t seed) {
    std::string bytes(size, '\0');
    std::mt19937 rng(seed);
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string path = work_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    auto info = client::UploadFile(*target, dm->id, path, "application/octet-stream");
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    client::OutgoingMessage m;
    m.conv = dm->id;
    m.kind = MessageKind::kFile;
    m.body = client::AttachmentSendBody({info.ok() ? info->id : ""}, "");
    EXPECT_TRUE(alice->SendMessage(m).ok());
    return std::make_pair(info.ok() ? info->id : std::string(), bytes);
  };
  const auto first = send_file("first.bin", 6u << 20, 1);
  TakeBackup(true);
  const auto second = send_file("second.bin", 300000, 2);
  const auto inc = TakeBackup(false);
  EXPECT_EQ(inc.value("kind", ""), "incremental") << inc.dump();
  std::string out;
  ASSERT_EQ(RunCliS3("verify", &out), 0) << out;

  const std::string restored = work_ + "/restored";
  ASSERT_EQ(RunCli("admin backup restore latest --to " + restored + S3Args(), &out), 0) << out;
  server_.reset();
  auto again = StartOn(restored);
  ASSERT_TRUE(again);
  client::ConnectOptions o;
  o.url = again->url();
  for (const char* name : {"bob", "carol"}) {
    client::BlockingClient c(o, 30s);
    ASSERT_TRUE(c.Connect().ok());
    auto login = c.Login(name, std::string(name) + "-password", "restored");
    ASSERT_TRUE(login.ok());
    auto there = client::TargetForServer(again->url(), login->token, "");
    ASSERT_TRUE(there.ok());
    for (const auto& [id, bytes] : {first, second}) {
      const std::string copy = work_ + "/" + name + "-" + id;
      auto got = client::DownloadAttachment(*there, id, copy);
      if (std::string(name) == "carol") {  // not a member: nothing, here as before
        EXPECT_FALSE(got.ok());
        continue;
      }
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_TRUE(got->verified);
      std::ifstream in(copy, std::ios::binary);
      std::stringstream read;
      read << in.rdbuf();
      EXPECT_TRUE(read.str() == bytes) << id;
    }
  }
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

}  // namespace parley
