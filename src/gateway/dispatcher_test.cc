// The dispatcher in process: every op of the command table driven through a fake session
// link (no sockets, no parleyd) against a real Core; the table's auth rule enforced for
// every op; and docs/protocol.md's op list equal to the table.
#include "gateway/dispatcher.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "gateway/command_table.h"
#include "metrics/metrics.h"
#include "tests/support/core_test.h"

namespace parley {
namespace {

using namespace std::chrono_literals;

// A connection without a network: replies and pushes are kept; work the dispatcher hands
// back to "the session's thread" runs on the test's thread while it waits for a reply.
class FakeLink final : public SessionLink {
 public:
  explicit FakeLink(SessionState state) : state_(std::move(state)) {}

  SessionState& state() override { return state_; }
  bool finished() const override { return false; }
  void Reply(std::string frame) override {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(frame));
    cv_.notify_all();
  }
  void RunOnSession(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    on_session_.push_back(std::move(fn));
    cv_.notify_all();
  }
  void CloseWith(uint16_t code, std::string) override { close_code_ = code; }
  void Deliver(std::vector<Frame> frames) override {
    std::lock_guard<std::mutex> lock(mu_);
    pushes_ += frames.size();
  }
  void Revoke(uint16_t code, std::string) override { close_code_ = code; }

  // Forgets session work never run: a job posted after the test's last reply holds the
  // link, and the link holds the job (a cycle the leak checker reports).
  void DropSessionWork() {
    std::lock_guard<std::mutex> lock(mu_);
    on_session_.clear();
  }

  // The next reply, running session work while it waits (bounded: 10 s).
  std::optional<std::string> NextReply() {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      while (!on_session_.empty()) {
        auto fn = std::move(on_session_.front());
        on_session_.pop_front();
        lock.unlock();
        fn();
        lock.lock();
      }
      if (!replies_.empty()) {
        std::string frame = std::move(replies_.front());
        replies_.pop_front();
        return frame;
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
    }
  }

 private:
  SessionState state_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> replies_;
  std::deque<std::function<void()>> on_session_;
  size_t pushes_ = 0;
  std::atomic<int> close_code_{0};
};

struct Reply {
  bool ok = false;
  std::string error;  // the error code when !ok
  std::string frame;
};

class DispatcherTest : public test::CoreTest {
 protected:
  DispatcherTest()
      : metrics_(registry_),
        workers_(std::make_unique<WorkerPool>(2)),
        hashers_(std::make_unique<HashPool>(1, 16)) {}

  void SetUp() override {
    dispatcher_ = std::make_unique<Dispatcher>(core(), hub_, config_gw_, metrics_, *workers_,
                                               *hashers_, /*search=*/nullptr);
  }
  // The pools first: their jobs (a token touch, say) use the dispatcher and the core.
  void TearDown() override {
    workers_.reset();
    hashers_.reset();
    for (auto& link : links_) link->DropSessionWork();  // nothing can post any more
    links_.clear();
    dispatcher_.reset();
    CoreTest::TearDown();
  }

  std::shared_ptr<FakeLink> NewLink() {
    auto link = std::make_shared<FakeLink>(dispatcher_->NewSessionState());
    link->state().peer_ip = "127.0.0.1";
    links_.push_back(link);
    return link;
  }

  // Sends `frame` (an object without "id": one is added) and returns the decoded reply.
  Reply Call(const std::shared_ptr<FakeLink>& link, const std::string& body) {
    const uint64_t id = ++next_id_;
    std::string frame = "{\"id\":" + std::to_string(id) + "," + body.substr(1);
    simdjson::dom::parser parser;
    simdjson::dom::object request;
    EXPECT_EQ(parser.parse(frame).get(request), simdjson::SUCCESS) << frame;
    std::string_view op;
    if (request["op"].get(op) == simdjson::SUCCESS) {
      if (auto parsed = ParseOp(op)) sent_.insert(*parsed);
    }
    dispatcher_->OnText(link, frame);
    std::optional<std::string> got = link->NextReply();
    Reply out;
    if (!got) {
      ADD_FAILURE() << "no reply to " << frame;
      return out;
    }
    out.frame = *got;
    simdjson::dom::object reply;
    EXPECT_EQ(parser.parse(out.frame).get(reply), simdjson::SUCCESS) << out.frame;
    uint64_t reply_id = 0;
    EXPECT_EQ(reply["id"].get(reply_id), simdjson::SUCCESS) << out.frame;
    EXPECT_EQ(reply_id, id) << out.frame;
    bool ok = false;
    EXPECT_EQ(reply["ok"].get(ok), simdjson::SUCCESS) << out.frame;
    out.ok = ok;
    std::string_view error;
    if (!ok && reply["error"].get(error) == simdjson::SUCCESS) out.error = std::string(error);
    return out;
  }

  Reply Ok(const std::shared_ptr<FakeLink>& link, const std::string& body) {
    Reply r = Call(link, body);
    EXPECT_TRUE(r.ok) << body << " -> " << r.frame;
    return r;
  }

  static uint64_t UintAt(const std::string& frame, std::string_view pointer) {
    simdjson::dom::parser parser;
    uint64_t v = 0;
    EXPECT_EQ(parser.parse(frame).at_pointer(pointer).get(v), simdjson::SUCCESS) << frame;
    return v;
  }
  static std::string StringAt(const std::string& frame, std::string_view pointer) {
    simdjson::dom::parser parser;
    std::string_view v;
    EXPECT_EQ(parser.parse(frame).at_pointer(pointer).get(v), simdjson::SUCCESS) << frame;
    return std::string(v);
  }

  metrics::Registry registry_;
  GatewayMetrics metrics_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<HashPool> hashers_;
  Hub hub_;
  GatewayConfig config_gw_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::shared_ptr<FakeLink>> links_;  // every link made, to break cycles at the end
  uint64_t next_id_ = 0;
  std::set<Op> sent_;
};

TEST(CommandTable, CommandsAreInEnumOrderWithAHandlerEach) {
  size_t rows = 0;
  for (size_t i = 0; i < kOpCount; ++i, ++rows) {
    const Command& c = Commands()[i];
    EXPECT_EQ(static_cast<size_t>(c.op), i) << c.name();
    EXPECT_NE(c.handler, nullptr) << c.name();
    EXPECT_FALSE(c.summary.empty()) << c.name();
    EXPECT_EQ(ParseOp(c.name()), c.op);
  }
  EXPECT_EQ(rows, kOpCount);
}

// docs/protocol.md §3 carries the table between two markers. To regenerate it after a
// change to the table: PARLEY_UPDATE_DOCS=1 build/release/gateway_unit_test
TEST(CommandTable, ProtocolDocumentListsExactlyTheTable) {
  const std::string path = std::string(PARLEY_SOURCE_DIR) + "/docs/protocol.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string doc = buffer.str();
  const std::string begin =
      "<!-- op-table:begin (generated from src/gateway/command_table.cc) -->\n";
  const std::string end = "<!-- op-table:end -->";
  const size_t from = doc.find(begin);
  const size_t to = doc.find(end);
  ASSERT_NE(from, std::string::npos) << "marker missing in " << path;
  ASSERT_NE(to, std::string::npos) << "marker missing in " << path;
  const std::string generated = OpTableMarkdown();
  const std::string written = doc.substr(from + begin.size(), to - from - begin.size());
  if (written != generated && std::getenv("PARLEY_UPDATE_DOCS") != nullptr) {
    doc.replace(from + begin.size(), to - from - begin.size(), generated);
    std::ofstream(path) << doc;
    GTEST_SKIP() << "rewrote the op table of " << path;
  }
  EXPECT_EQ(written, generated)
      << "docs/protocol.md disagrees with the command table; regenerate with "
         "PARLEY_UPDATE_DOCS=1 gateway_unit_test";
  // And every op has its own section.
  for (const Command& c : Commands()) {
    EXPECT_NE(doc.find("### `" + std::string(c.name()) + "`"), std::string::npos) << c.name();
  }
}

TEST_F(DispatcherTest, EveryLoggedInOpIsRefusedBeforeLogin) {
  size_t refused = 0;
  for (const Command& c : Commands()) {
    if (c.auth != AuthRule::kLoggedIn) continue;
    auto link = NewLink();
    Reply r = Call(link, "{\"op\":\"" + std::string(c.name()) + "\"}");
    EXPECT_FALSE(r.ok) << c.name();
    EXPECT_EQ(r.error, "unauthenticated") << c.name() << " -> " << r.frame;
    ++refused;
  }
  EXPECT_GE(refused, 20u);
}

TEST_F(DispatcherTest, EveryOpOfTheTableRunsThroughAFakeLink) {
  auto alice = NewLink();
  Ok(alice, R"({"op":"ping"})");
  Ok(alice, R"({"op":"register","name":"alice","password":"alice-secret-1"})");
  Ok(alice, R"({"op":"register","name":"bob","password":"bob-secret-12"})");
  Reply login = Ok(alice, R"({"op":"login","name":"alice","password":"alice-secret-1"})");
  const std::string token = StringAt(login.frame, "/token");

  // A second device of alice's resumes with a token of its own.
  auto phone = NewLink();
  Reply phone_login =
      Ok(phone, R"({"op":"login","name":"alice","password":"alice-secret-1","device":"phone"})");
  auto tablet = NewLink();
  Ok(tablet, R"({"op":"auth","token":")" + StringAt(phone_login.frame, "/token") + R"("})");
  EXPECT_FALSE(token.empty());

  Ok(alice, R"({"op":"users","names":["bob"]})");
  const uint64_t direct =
      UintAt(Ok(alice, R"({"op":"conv.open","user":"bob"})").frame, "/conversation/conv");
  const std::string conv = std::to_string(direct);
  Ok(alice, R"({"op":"send","conv":)" + conv + R"(,"client_msg_id":"m1","body":"hi"})");
  Ok(alice, R"({"op":"sync","since":0})");
  Ok(alice, R"({"op":"history","conv":)" + conv + "}");
  Ok(alice, R"({"op":"convs"})");
  Ok(alice, R"({"op":"read","conv":)" + conv + R"(,"seq":1})");
  Ok(alice, R"({"op":"edit","conv":)" + conv + R"(,"seq":1,"body":"hi!"})");
  Ok(alice, R"({"op":"recall","conv":)" + conv + R"(,"seq":1})");
  Ok(alice, R"({"op":"typing","conv":)" + conv + "}");

  const std::string group = std::to_string(
      UintAt(Ok(alice, R"({"op":"conv.create","title":"team","members":["bob"]})").frame,
             "/conversation/conv"));
  Reply got = Ok(alice, R"({"op":"conv.get","conv":)" + group + "}");
  EXPECT_EQ(StringAt(got.frame, "/role"), "owner");
  Ok(alice, R"({"op":"conv.members","conv":)" + group + "}");
  Ok(alice, R"({"op":"conv.rename","conv":)" + group + R"(,"title":"team 2"})");
  Ok(alice, R"({"op":"conv.role","conv":)" + group + R"(,"user":"bob","role":"admin"})");
  Ok(alice, R"({"op":"conv.remove","conv":)" + group + R"(,"user":"bob"})");
  Ok(alice, R"({"op":"conv.add","conv":)" + group + R"(,"users":["bob"]})");
  Ok(alice, R"({"op":"conv.leave","conv":)" + group + "}");

  // Search is off in this dispatcher (no index): the op answers, and says why.
  Reply search = Call(alice, R"({"op":"search","q":"hi"})");
  EXPECT_FALSE(search.ok);
  EXPECT_EQ(search.error, "unavailable");

  Ok(alice, R"({"op":"block","user":"bob"})");
  Ok(alice, R"({"op":"blocks"})");
  Ok(alice, R"({"op":"unblock","user":"bob"})");
  Ok(alice, R"({"op":"devices"})");
  Ok(alice, R"({"op":"device.revoke","device":"phone"})");
  Ok(alice,
     R"({"op":"password.change","old_password":"alice-secret-1","new_password":"alice-secret-2"})");
  Ok(alice, R"({"op":"logout"})");

  // The test grows with the table: an op added without a line here fails.
  for (const Command& c : Commands()) {
    EXPECT_TRUE(sent_.count(c.op)) << "op " << c.name() << " is not exercised";
  }
}

TEST_F(DispatcherTest, UnknownAndMalformedRequestsGetTheirCodesAndTheLinkGoesOn) {
  auto link = NewLink();
  EXPECT_EQ(Call(link, R"({"op":"no.such.op"})").error, "unknown_op");
  EXPECT_EQ(Call(link, R"({"op":"register","name":"x"})").error, "bad_request");
  Ok(link, R"({"op":"ping"})");
}

}  // namespace
}  // namespace parley
