// Attachments end to end through the `parley` CLI against a real parleyd (docs/protocol.md
// §7): `send --file` uploads in parts and sends a `file` message, the peer sees it in its
// history and downloads the same bytes with `get` (also continuing a `.part` file with a
// Range request), and a user outside the conversation is refused with a clear error.
// Every CLI run is bounded by `timeout`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "tests/support/command.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/temp_dir.h"

namespace parley {
namespace {

using testing::GatewayFixture;

constexpr size_t kFileBytes = 20u << 20;  // 20 MiB: three parts of the default 8 MiB

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The last line of `out` that is a JSON object with `key`; null if none.
nlohmann::json JsonLineWith(const std::string& out, const std::string& key) {
  nlohmann::json found;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains(key)) found = j;
  }
  return found;
}

class AttachmentsCliTest : public GatewayFixture {
 protected:
  // Runs the CLI as `user` (their own $PARLEY_HOME); its exit code, stdout+stderr in *out.
  int Cli(const std::string& user, const std::string& args, std::string* out = nullptr) {
    const std::string cmd = "PARLEY_HOME=" + dir_.Sub(user) + " PARLEY_SERVER=" + server_->url() +
                            " timeout 300 " + PARLEY_CLI_PATH + " " + args + " 2>&1";
    return test::RunCommand(cmd, out);
  }
  void Account(const std::string& user) {
    std::string out;
    ASSERT_EQ(Cli(user, "register " + user + " --password " + user + "-password", &out), 0) << out;
    ASSERT_EQ(Cli(user, "login " + user + " --password " + user + "-password", &out), 0) << out;
  }
  // `bytes` of seeded random data (not compressible, not an image) at `path`.
  static std::string WriteRandomFile(const std::string& path, size_t bytes) {
    std::mt19937_64 rng(20260101);
    std::string data(bytes, '\0');
    for (size_t i = 0; i < bytes; i += 8) {
      const uint64_t v = rng();
      std::memcpy(data.data() + i, &v, std::min<size_t>(8, bytes - i));
    }
    std::ofstream(path, std::ios::binary) << data;
    return data;
  }

  test::TempDir dir_{"parley-attach-cli-"};
};

TEST_F(AttachmentsCliTest, SendFileThenPeerGetsTheSameBytesAndOutsidersAreRefused) {
  Account("alice");
  Account("bob");
  Account("carol");
  const std::string original = WriteRandomFile(dir_.Sub("data.bin"), kFileBytes);

  std::string out;
  ASSERT_EQ(
      Cli("alice",
          "send --to bob --file " + dir_.Sub("data.bin") + " --caption 'the numbers' --json", &out),
      0)
      << out;
  const nlohmann::json sent = JsonLineWith(out, "attachment");
  ASSERT_TRUE(sent.is_object()) << out;
  const std::string id = sent.value("attachment", "");
  ASSERT_EQ(id.size(), 32u) << out;
  EXPECT_EQ(sent.value("kind", ""), "file");
  EXPECT_EQ(sent.value("size", uint64_t{0}), kFileBytes);
  EXPECT_GT(sent.value("seq", uint64_t{0}), 0u);
  // Completed uploads leave nothing to resume.
  EXPECT_TRUE(!std::filesystem::exists(dir_.Sub("alice/uploads")) ||
              std::filesystem::is_empty(dir_.Sub("alice/uploads")));

  // bob sees a file message naming it.
  ASSERT_EQ(Cli("bob", "history --with alice", &out), 0) << out;
  EXPECT_NE(out.find("[file data.bin 21.0 MB id=" + id + "] the numbers"), std::string::npos)
      << out;

  // bob downloads it: the same bytes, checked against the server's SHA-256.
  const std::string copy = dir_.Sub("copy.bin");
  ASSERT_EQ(Cli("bob", "get " + id + " -o " + copy + " --json", &out), 0) << out;
  const nlohmann::json got = JsonLineWith(out, "sha256");
  ASSERT_TRUE(got.is_object()) << out;
  EXPECT_EQ(got.value("bytes", uint64_t{0}), kFileBytes);
  EXPECT_TRUE(got.value("verified", false)) << out;
  EXPECT_EQ(got.value("sha256", ""), sent.value("sha256", "?"));
  EXPECT_TRUE(ReadAll(copy) == original) << "the downloaded bytes differ";
  EXPECT_FALSE(std::filesystem::exists(copy + ".part"));

  // A download cut short continues from its .part file (Range: bytes=N-).
  const std::string second = dir_.Sub("second.bin");
  std::ofstream(second + ".part", std::ios::binary) << original.substr(0, 5u << 20);
  ASSERT_EQ(Cli("bob", "get " + id + " -o " + second + " --json", &out), 0) << out;
  EXPECT_TRUE(JsonLineWith(out, "sha256").value("resumed", false)) << out;
  EXPECT_TRUE(ReadAll(second) == original) << "the resumed download differs";

  // carol is not in the conversation: refused, and no file (or .part) is left behind.
  const std::string stolen = dir_.Sub("stolen.bin");
  const int rc = Cli("carol", "get " + id + " -o " + stolen, &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(out.find("not_member") != std::string::npos ||
              out.find("permission_denied") != std::string::npos ||
              out.find("not_found") != std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(stolen));
  EXPECT_FALSE(std::filesystem::exists(stolen + ".part"));

  // A malformed id is refused before any request.
  EXPECT_EQ(Cli("bob", "get ../../etc/passwd -o " + dir_.Sub("x"), &out), 1) << out;
  EXPECT_NE(out.find("not an attachment id"), std::string::npos) << out;
}

TEST_F(AttachmentsCliTest, UsageErrorsAreCaughtBeforeAnyUpload) {
  Account("alice");
  std::string out;
  EXPECT_EQ(Cli("alice", "send --to bob --file /nonexistent words", &out), 2) << out;
  EXPECT_EQ(Cli("alice", "send --to bob --caption hi", &out), 2) << out;
  EXPECT_EQ(Cli("alice", "get 0123456789abcdef0123456789abcdef", &out), 2) << out;  // no -o
}

}  // namespace
}  // namespace parley
