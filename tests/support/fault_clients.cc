#include "tests/support/fault_clients.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/full_reads.h"
#include "tests/support/waiting.h"

namespace parley::test {

int64_t MonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<FaultClients>> FaultClients::Start(const FaultPlan& plan,
                                                          const std::vector<std::string>& prefix,
                                                          const std::string& plan_path,
                                                          const std::string& stderr_path) {
  {
    std::ofstream out(plan_path);
    out << plan.ToText();
    if (!out) return Status(Code::kIOError, "cannot write " + plan_path);
  }
  std::vector<std::string> argv = prefix;
  argv.push_back(FAULT_CLIENTS_PATH);
  argv.push_back(plan_path);
  PARLEY_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Start(argv, stderr_path));
  std::unique_ptr<FaultClients> f(new FaultClients());
  f->pid_ = child.pid();
  f->child_ = std::move(child);
  f->reader_ = std::thread([p = f.get()] { p->Read(); });
  return f;
}

FaultClients::~FaultClients() {
  child_.Kill();  // ends its output, so the reader returns
  if (reader_.joinable()) reader_.join();
}

void FaultClients::Read() {
  for (;;) {
    auto line = child_.ReadLine(std::chrono::milliseconds(200));
    if (line) {
      Parse(*line);
      continue;
    }
    if (child_.eof()) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
}

void FaultClients::Parse(const std::string& line) {
  std::istringstream f(line);
  std::string what, name;
  f >> what;
  std::lock_guard<std::mutex> lock(mu_);
  if (what == "ready") return;
  if (what == "bye") {
    bye_ = true;
    return;
  }
  f >> name;
  FaultClientLog& log = logs_[name];
  if (what == "connected") {
    int64_t at = 0;
    f >> at;
    log.connects.push_back(at);
  } else if (what == "disconnected") {
    FaultClientLog::Drop d;
    f >> d.at_ms >> d.pending;
    std::getline(f, d.why);
    log.drops.push_back(std::move(d));
  } else if (what == "event") {
    FaultClientLog::Event e;
    f >> e.user_seq >> e.type >> e.conv >> e.conv_seq >> e.body;
    log.events.push_back(std::move(e));
  } else if (what == "ack") {
    FaultClientLog::Ack a;
    int dup = 0;
    f >> a.body >> a.conv >> a.conv_seq >> a.user_seq >> dup >> a.at_ms;
    a.duplicate = dup != 0;
    log.acks.push_back(std::move(a));
  } else if (what == "queued") {
    FaultClientLog::Queued q;
    f >> q.body >> q.at_ms;
    log.queued.push_back(std::move(q));
  } else if (what == "refused") {
    std::string rest;
    std::getline(f, rest);
    log.refused.push_back(rest);
  } else if (what == "sent") {
    f >> log.sent;
  } else if (what == "stats") {
    f >> log.reconnects >> log.heartbeats_sent >> log.heartbeats_missed >> log.pending;
  } else {
    unparsed_.push_back(line);
    return;
  }
  if (f.fail()) unparsed_.push_back(line);
}

FaultLogs FaultClients::Logs() {
  std::lock_guard<std::mutex> lock(mu_);
  return logs_;
}

std::vector<std::string> FaultClients::unparsed() {
  std::lock_guard<std::mutex> lock(mu_);
  return unparsed_;
}

bool FaultClients::WaitFor(const std::function<bool(const FaultLogs&)>& done,
                           std::chrono::milliseconds timeout) {
  return WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return done(logs_);
      },
      timeout, std::chrono::milliseconds(20));
}

bool FaultClients::WaitStarted(const std::vector<FaultClientPlan>& plans, size_t min_acks,
                               std::chrono::milliseconds timeout) {
  return WaitFor(
      [&](const FaultLogs& logs) {
        for (const auto& c : plans) {
          auto it = logs.find(c.name);
          if (it == logs.end() || it->second.connects.empty()) return false;
          if (c.sends > 0 && it->second.acks.size() < min_acks) return false;
        }
        return true;
      },
      timeout);
}

bool FaultClients::WaitReconnected(const std::vector<FaultClientPlan>& plans, int64_t since_ms,
                                   std::chrono::milliseconds timeout,
                                   std::vector<int64_t>* delays_ms) {
  const bool all = WaitFor(
      [&](const FaultLogs& logs) {
        delays_ms->clear();
        for (const auto& c : plans) {
          auto log = logs.find(c.name);
          if (log == logs.end()) return false;
          const auto& connects = log->second.connects;
          auto it = std::find_if(connects.begin(), connects.end(),
                                 [&](int64_t at) { return at >= since_ms; });
          if (it == connects.end()) return false;
          delays_ms->push_back(*it - since_ms);
        }
        return true;
      },
      timeout);
  std::sort(delays_ms->begin(), delays_ms->end());
  return all;
}

Status FaultClients::Quit(std::chrono::milliseconds timeout) {
  child_.WriteLine("quit");
  const bool said_bye = WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return bye_ || ended_;
      },
      timeout, std::chrono::milliseconds(20));
  auto code = child_.Wait(timeout);
  if (reader_.joinable()) reader_.join();
  if (!said_bye) return Status(Code::kUnavailable, "fault_clients did not say bye");
  if (!code.ok()) return code.status();
  if (*code != 0) return Status(Code::kInternal, "fault_clients exited " + std::to_string(*code));
  return Status::Ok();
}

namespace {

std::string Password(const std::string& name) { return name + "-password"; }

Result<std::unique_ptr<client::BlockingClient>> LoggedIn(const client::ConnectOptions& connect,
                                                         const std::string& name,
                                                         const std::string& device,
                                                         LoginReply* reply = nullptr) {
  auto c = std::make_unique<client::BlockingClient>(connect, std::chrono::seconds(30));
  PARLEY_RETURN_IF_ERROR(c->Connect());
  PARLEY_ASSIGN_OR_RETURN(LoginReply login, c->Login(name, Password(name), device));
  if (reply) *reply = login;
  return c;
}

}  // namespace

Result<FaultScenario> MakeFaultScenario(const client::ConnectOptions& connect,
                                        const std::string& prefix, int users, int devices,
                                        int sends) {
  FaultScenario s;
  std::vector<LoginReply> logins;
  for (int i = 0; i < users; ++i) {
    const std::string name = prefix + "u" + std::to_string(i);
    client::BlockingClient c(connect, std::chrono::seconds(30));
    PARLEY_RETURN_IF_ERROR(c.Connect());
    PARLEY_ASSIGN_OR_RETURN(UserInfo info, c.Register(name, Password(name)));
    s.users.push_back(info.id);
    s.names.push_back(name);
    for (int d = 1; d <= devices; ++d) {
      LoginReply login;
      {
        PARLEY_ASSIGN_OR_RETURN(auto logged_in,
                                LoggedIn(connect, name, "d" + std::to_string(d), &login));
      }
      FaultClientPlan p;
      p.name = name + "d" + std::to_string(d);
      p.token = login.token;
      p.device = login.device;
      p.user = info.id;
      s.clients.push_back(std::move(p));
    }
  }
  if (users < 2) return s;  // a lone user: no conversations, nobody sends
  PARLEY_ASSIGN_OR_RETURN(auto owner, LoggedIn(connect, s.names[0], "setup"));
  std::vector<client::UserArg> members;
  for (int i = 1; i < users; ++i) members.emplace_back(s.names[i]);
  PARLEY_ASSIGN_OR_RETURN(ConversationRecord group, owner->CreateGroup(prefix + "group", members));
  s.group = group.id;
  for (int i = 0; i < users; ++i) {
    PARLEY_ASSIGN_OR_RETURN(auto c, LoggedIn(connect, s.names[i], "setup"));
    PARLEY_ASSIGN_OR_RETURN(ConversationRecord direct,
                            c->OpenDirect(client::UserArg(s.names[(i + 1) % users])));
    s.directs.push_back(direct.id);
  }
  for (size_t k = 0; k < s.clients.size(); ++k) {
    const size_t user = k / static_cast<size_t>(devices);
    const size_t device = k % static_cast<size_t>(devices);  // 0: d1
    if (device == 0) s.clients[k].conv = s.group;
    if (device == 1) s.clients[k].conv = s.directs[user];
    if (device <= 1) s.clients[k].sends = sends;
  }
  return s;
}

bool AllAcked(const FaultScenario& scenario, const FaultLogs& logs) {
  for (const auto& c : scenario.clients) {
    if (c.sends == 0) continue;
    auto it = logs.find(c.name);
    if (it == logs.end() ||
        it->second.acks.size() + it->second.refused.size() < static_cast<size_t>(c.sends)) {
      return false;
    }
  }
  return true;
}

Backlog BacklogAt(const FaultLogs& logs, int64_t at_ms) {
  Backlog b;
  bool all_drained = true;
  for (const auto& [name, log] : logs) {
    std::map<std::string, int64_t> acked;  // body -> when
    for (const auto& a : log.acks) acked.emplace(a.body, a.at_ms);
    for (const auto& q : log.queued) {
      if (q.at_ms >= at_ms) continue;
      auto it = acked.find(q.body);
      if (it != acked.end() && it->second < at_ms) continue;
      ++b.sends;
      if (it == acked.end()) {
        all_drained = false;
      } else {
        b.drained_at_ms = std::max(b.drained_at_ms, it->second);
      }
    }
  }
  if (!all_drained) b.drained_at_ms = 0;
  return b;
}

Result<Seq> TimelineLength(const client::ConnectOptions& connect, const std::string& name) {
  PARLEY_ASSIGN_OR_RETURN(auto c, LoggedIn(connect, name, "verify"));
  Seq since = 0;
  for (int page = 0; page < 1000; ++page) {
    PARLEY_ASSIGN_OR_RETURN(SyncReply r, c->Sync(since, 500));
    since = r.next;
    if (!r.has_more) return since;
  }
  return Status(Code::kInternal, "timeline too long");
}

Result<std::map<UserId, Seq>> TimelineLengths(const client::ConnectOptions& connect,
                                              const FaultScenario& scenario) {
  std::map<UserId, Seq> lengths;
  for (size_t i = 0; i < scenario.users.size(); ++i) {
    PARLEY_ASSIGN_OR_RETURN(lengths[scenario.users[i]], TimelineLength(connect, scenario.names[i]));
  }
  return lengths;
}

namespace {

// The seqs a client has seen: delivered or stepped over as its own.
std::set<Seq> Seen(const FaultClientLog& log) {
  std::set<Seq> seen;
  for (const auto& e : log.events) seen.insert(e.user_seq);
  for (const auto& a : log.acks) {
    if (a.user_seq) seen.insert(a.user_seq);
  }
  return seen;
}

}  // namespace

bool AllCaughtUp(const FaultScenario& scenario, const FaultLogs& logs,
                 const std::map<UserId, Seq>& lengths) {
  for (const auto& c : scenario.clients) {
    auto it = logs.find(c.name);
    if (it == logs.end()) return false;
    const Seq n = lengths.at(c.user);
    std::set<Seq> seen = Seen(it->second);
    for (Seq s = 1; s <= n; ++s) {
      if (!seen.count(s)) return false;
    }
  }
  return true;
}

void ExpectExactlyOnceInOrder(const client::ConnectOptions& connect, const FaultScenario& scenario,
                              const FaultLogs& logs) {
  // The truth: each user's whole sync timeline, each conversation's whole history.
  std::map<UserId, std::vector<SyncItem>> timelines;
  for (size_t i = 0; i < scenario.users.size(); ++i) {
    auto c = LoggedIn(connect, scenario.names[i], "verify");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    timelines[scenario.users[i]] = SyncAll(**c);
  }
  std::map<ConvId, std::vector<MessageRecord>> histories;
  {
    auto c = LoggedIn(connect, scenario.names[0], "verify");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    histories[scenario.group] = HistoryForward(**c, scenario.group);
  }
  for (size_t i = 0; i < scenario.directs.size(); ++i) {
    auto c = LoggedIn(connect, scenario.names[i], "verify");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    histories[scenario.directs[i]] = HistoryForward(**c, scenario.directs[i]);
  }

  // Each body stored exactly once.
  std::map<std::string, std::pair<ConvId, Seq>> stored;  // body -> where
  for (const auto& [conv, messages] : histories) {
    for (const auto& m : messages) {
      auto [it, fresh] = stored.emplace(m.body, std::make_pair(conv, m.seq));
      EXPECT_TRUE(fresh) << "stored twice: " << m.body << " in conv " << conv << " at " << m.seq
                         << " and " << it->second.second;
    }
  }

  size_t total_acks = 0;
  for (const auto& plan : scenario.clients) {
    SCOPED_TRACE(plan.name);
    auto found = logs.find(plan.name);
    ASSERT_NE(found, logs.end()) << "no output for " << plan.name;
    const FaultClientLog& log = found->second;
    EXPECT_TRUE(log.refused.empty()) << log.refused.front();

    // Sends: every planned one acknowledged once, stored where the ack says, in order.
    std::set<std::string> acked;
    Seq last_seq = 0;
    for (const auto& a : log.acks) {
      EXPECT_TRUE(acked.insert(a.body).second) << "acknowledged twice: " << a.body;
      auto where = stored.find(a.body);
      ASSERT_NE(where, stored.end()) << "acknowledged but not stored: " << a.body;
      EXPECT_EQ(where->second, std::make_pair(a.conv, a.conv_seq)) << a.body;
      EXPECT_EQ(a.conv, plan.conv) << a.body;
      EXPECT_GT(a.conv_seq, last_seq) << "stored out of send order: " << a.body;
      last_seq = a.conv_seq;
    }
    EXPECT_EQ(acked.size(), static_cast<size_t>(plan.sends));
    total_acks += acked.size();

    // Delivery: strictly increasing user_seq, each event the server's at that seq, and
    // with its own acknowledged sends covering the whole timeline.
    const std::vector<SyncItem>& truth = timelines[plan.user];
    Seq prev = 0;
    for (const auto& e : log.events) {
      EXPECT_GT(e.user_seq, prev) << "duplicate or out of order at user_seq " << e.user_seq;
      prev = e.user_seq;
      ASSERT_GE(e.user_seq, 1u);
      ASSERT_LE(e.user_seq, truth.size()) << "delivered an event the server does not have";
      const SyncItem& t = truth[e.user_seq - 1];
      EXPECT_EQ(e.conv, t.event.conv_id) << "user_seq " << e.user_seq;
      EXPECT_EQ(e.conv_seq, t.event.conv_seq) << "user_seq " << e.user_seq;
      const std::string body = t.message && !t.message->body.empty() ? t.message->body : "-";
      EXPECT_EQ(e.body, body) << "user_seq " << e.user_seq;
    }
    std::set<Seq> seen = Seen(log);
    size_t missing = 0;
    for (Seq s = 1; s <= truth.size(); ++s) missing += seen.count(s) == 0;
    EXPECT_EQ(missing, 0u) << "events never delivered (of " << truth.size() << ")";
    EXPECT_LE(seen.size(), truth.size());
  }
  size_t planned = 0;
  for (const auto& plan : scenario.clients) planned += static_cast<size_t>(plan.sends);
  EXPECT_EQ(total_acks, planned);
  EXPECT_EQ(stored.size(), planned) << "messages stored vs messages sent";
}

}  // namespace parley::test
