// Durability under kill -9: a child process (crash_writer) sends messages with
// fsync-before-ack and reports each acknowledgement on a pipe; the test kills it with
// SIGKILL mid-stream, reopens the store and checks that every acknowledged message is
// there with its acknowledged seq and msg_id, with no gap in conv_seq. Two rounds: the
// second writer continues the same conversation after the first crash.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "common/clock.h"
#include "service/core.h"
#include "store/rocks_store.h"
#include "tests/support/temp_dir.h"

#ifndef CRASH_WRITER_PATH
#error "CRASH_WRITER_PATH must name the crash_writer binary"
#endif

namespace parley {
namespace {

using namespace std::chrono_literals;

constexpr size_t kMinAcksPerRound = 300;
constexpr auto kRoundDeadline = 60s;

struct Ack {
  Seq seq = 0;
  uint64_t msg_id = 0;
  std::string client_msg_id;
};

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of the child's stdout
};

Child SpawnWriter(const std::string& dir) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    dup2(fds[1], STDOUT_FILENO);
    execl(CRASH_WRITER_PATH, "crash_writer", dir.c_str(), "100000000", "4",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    ADD_FAILURE() << "fork failed";
    return {};
  }
  return Child{pid, fds[0]};
}

// Reads complete "seq msg_id client_msg_id" lines from `fd` into `acks` until it has
// `want` of them, the deadline passes, or EOF. Returns false on EOF.
bool ReadAcks(int fd, std::string& partial, std::vector<Ack>& acks, size_t want,
              std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  while (acks.size() < want) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    partial.append(buf, static_cast<size_t>(got));
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::istringstream line(partial.substr(start, nl - start));
      Ack a;
      line >> a.seq >> a.msg_id >> a.client_msg_id;
      EXPECT_FALSE(line.fail()) << "bad line: " << partial.substr(start, nl - start);
      if (!line.fail()) acks.push_back(a);
    }
    partial.erase(0, start);
  }
  return true;
}

// Runs one writer until it has acknowledged at least kMinAcksPerRound messages, kills it
// with SIGKILL and returns every acknowledgement it reported (also those still in the pipe).
std::vector<Ack> RunAndKill(const std::string& dir) {
  std::vector<Ack> acks;
  Child child = SpawnWriter(dir);
  if (child.pid < 0) return acks;
  std::string partial;
  bool open = ReadAcks(child.out, partial, acks, kMinAcksPerRound,
                       std::chrono::steady_clock::now() + kRoundDeadline);
  EXPECT_TRUE(open) << "the writer exited early";
  EXPECT_GE(acks.size(), kMinAcksPerRound) << "too few acknowledgements before the deadline";
  kill(child.pid, SIGKILL);
  // Everything the writer reported before it died is still in the pipe.
  ReadAcks(child.out, partial, acks, SIZE_MAX, std::chrono::steady_clock::now() + 30s);
  close(child.out);
  int status = 0;
  EXPECT_EQ(waitpid(child.pid, &status, 0), child.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "writer did not die by SIGKILL (status " << status << ")";
  return acks;
}

// Reopens the store and checks every acknowledgement so far; returns the head.
Seq CheckStore(const std::string& dir, const std::map<Seq, Ack>& acked) {
  auto opened = OpenRocksStore(dir);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  if (!opened.ok()) return 0;
  Store& store = **opened;
  auto a = store.FindUserByName("crash_a");
  auto b = store.FindUserByName("crash_b");
  EXPECT_TRUE(a.ok() && b.ok());
  if (!a.ok() || !b.ok()) return 0;
  auto conv = store.FindDirect(*a, *b);
  EXPECT_TRUE(conv.ok());
  if (!conv.ok()) return 0;
  auto head = store.GetConvHead(*conv);
  EXPECT_TRUE(head.ok());
  if (!head.ok()) return 0;

  auto msgs = store.ScanMessages(*conv, 1, true, SIZE_MAX);
  EXPECT_TRUE(msgs.ok());
  if (!msgs.ok()) return 0;
  EXPECT_EQ(msgs->size(), head->last_seq) << "conv_seq has a gap or messages past the head";
  uint64_t last_msg_id = 0;
  for (size_t i = 0; i < msgs->size(); ++i) {
    const MessageRecord& m = (*msgs)[i];
    EXPECT_EQ(m.seq, i + 1) << "gap in conv_seq";
    EXPECT_GT(m.msg_id, last_msg_id) << "msg_id not increasing at seq " << m.seq;
    last_msg_id = m.msg_id;
    if (m.seq != i + 1) break;
  }
  if (!acked.empty()) {
    EXPECT_GE(head->last_seq, acked.rbegin()->first) << "the head is behind an acknowledgement";
  }
  const int64_t now = NowMillis();
  size_t missing = 0;
  for (const auto& [seq, ack] : acked) {
    auto m = store.GetMessage(*conv, seq);
    if (!m.ok()) {
      if (++missing <= 5) ADD_FAILURE() << "acknowledged seq " << seq << " is missing";
      continue;
    }
    EXPECT_EQ(m->msg_id, ack.msg_id) << "seq " << seq;
    EXPECT_EQ(m->client_msg_id, ack.client_msg_id) << "seq " << seq;
    std::string body = "crash test message ";
    body += ack.client_msg_id;
    EXPECT_EQ(m->body, body);
    // The retry record is durable too.
    auto dedup = store.GetDedup(m->sender, ack.client_msg_id, now);
    EXPECT_TRUE(dedup.ok()) << ack.client_msg_id;
    if (dedup.ok()) {
      EXPECT_EQ(dedup->seq, seq);
      EXPECT_EQ(dedup->msg_id, ack.msg_id);
    }
  }
  EXPECT_EQ(missing, 0u);
  auto counters = store.LoadCounters();
  EXPECT_TRUE(counters.ok());
  if (counters.ok()) {
    EXPECT_GE(counters->last_gseq, last_msg_id);
  }
  return head->last_seq;
}

TEST(Crash, AcknowledgedMessagesSurviveSigkill) {
  test::TempDir tmp("parley-crash-test-");
  const std::string& dir = tmp.path();
  std::map<Seq, Ack> acked;
  Seq head = 0;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(testing::Message() << "round " << round);
    auto acks = RunAndKill(dir);
    ASSERT_FALSE(HasFailure());
    for (const auto& a : acks) {
      EXPECT_GT(a.seq, head) << "a new writer reused a committed seq";
      EXPECT_TRUE(acked.emplace(a.seq, a).second) << "seq " << a.seq << " acknowledged twice";
    }
    head = CheckStore(dir, acked);
    ASSERT_FALSE(HasFailure());
    std::printf("round %d: %zu acknowledgements, head %llu\n", round, acks.size(),
                static_cast<unsigned long long>(head));
  }

  // The service starts again on the crashed store: a retry of the last acknowledged send
  // gets its first ack, and new messages continue the numbering.
  auto store = OpenRocksStore(dir);
  ASSERT_TRUE(store.ok());
  ServiceConfig config;  // kSync
  auto core = Core::Open(std::move(store).value(), config);
  ASSERT_TRUE(core.ok()) << core.status().ToString();
  const Ack& last = acked.rbegin()->second;
  auto msg = (*core)->store().GetMessage(
      *(*core)->store().FindDirect(*(*core)->store().FindUserByName("crash_a"),
                                   *(*core)->store().FindUserByName("crash_b")),
      last.seq);
  ASSERT_TRUE(msg.ok());
  SendRequest retry;
  retry.conv_id = msg->conv_id;
  retry.client_msg_id = last.client_msg_id;
  retry.body = "crash test message " + last.client_msg_id;  // a retry repeats the request
  auto dup = (*core)->messages().SendSync(Identity{msg->sender, "test"}, retry);
  ASSERT_TRUE(dup.ok()) << dup.status().ToString();
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->seq, last.seq);
  EXPECT_EQ(dup->msg_id, last.msg_id);
  retry.client_msg_id = "after-the-crash";
  retry.body = "again";
  auto fresh = (*core)->messages().SendSync(Identity{msg->sender, "test"}, retry);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_FALSE(fresh->duplicate);
  EXPECT_EQ(fresh->seq, head + 1);
  (*core)->Shutdown();
}

}  // namespace
}  // namespace parley
