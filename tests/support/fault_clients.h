// The test side of the fault tests (tests/faults_*_test.cc): a fault_clients child process
// (fault_clients_main.cc: ReliableClients that print what they see) started from a plan,
// its output parsed into one log per client, the users and conversations of a scenario
// made over a real WebSocket, and the end-state check every fault must pass — each
// device's timeline exactly once and in order, nothing acknowledged lost, nothing stored
// twice.
//
// Thread-safety: FaultClients parses on a thread of its own; Logs() hands out a copy.
// The scenario helpers use one BlockingClient each from the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/blocking_client.h"
#include "tests/support/child_process.h"
#include "tests/support/fault_plan.h"

namespace parley::test {

int64_t MonoMs();  // std::chrono::steady_clock milliseconds, as fault_clients prints them

struct FaultClientLog {
  struct Event {
    Seq user_seq = 0;
    std::string type;
    ConvId conv = 0;
    Seq conv_seq = 0;
    std::string body;  // "-": none
  };
  struct Ack {
    std::string body;
    ConvId conv = 0;
    Seq conv_seq = 0;
    Seq user_seq = 0;
    bool duplicate = false;
    int64_t at_ms = 0;
  };
  struct Queued {
    std::string body;
    int64_t at_ms = 0;
  };
  struct Drop {
    int64_t at_ms = 0;
    size_t pending = 0;  // sends journaled when the connection ended
    std::string why;
  };
  std::vector<Event> events;
  std::vector<Queued> queued;  // each Send(), in order
  std::vector<Ack> acks;
  std::vector<int64_t> connects;  // MonoMs of each (re)connection
  std::vector<Drop> drops;
  std::vector<std::string> refused;
  int sent = 0;  // sends journaled so far ("sent" line: all of them)
  // From the "stats" line at the end.
  uint64_t reconnects = 0, heartbeats_sent = 0, heartbeats_missed = 0, pending = 0;
};

using FaultLogs = std::map<std::string, FaultClientLog>;

class FaultClients {
 public:
  // Runs `prefix` + {fault_clients, plan file} (prefix e.g. {"ip", "netns", "exec", NS});
  // the plan is written to plan_path, stderr goes to stderr_path.
  static Result<std::unique_ptr<FaultClients>> Start(const FaultPlan& plan,
                                                     const std::vector<std::string>& prefix,
                                                     const std::string& plan_path,
                                                     const std::string& stderr_path);
  ~FaultClients();  // kills the process if Quit did not end it

  FaultLogs Logs();
  pid_t pid() const { return pid_; }
  void Signal(int sig) { child_.Signal(sig); }
  // Polls `done` over the logs until it holds or `timeout` passes.
  bool WaitFor(const std::function<bool(const FaultLogs&)>& done,
               std::chrono::milliseconds timeout);
  // Until every client of `plans` has connected and each sender has `min_acks` acks.
  bool WaitStarted(const std::vector<FaultClientPlan>& plans, size_t min_acks,
                   std::chrono::milliseconds timeout);
  // Until every client of `plans` has connected at or after `since_ms` (MonoMs); fills
  // `delays_ms` with how long after `since_ms` each first did, sorted.
  bool WaitReconnected(const std::vector<FaultClientPlan>& plans, int64_t since_ms,
                       std::chrono::milliseconds timeout, std::vector<int64_t>* delays_ms);
  // Asks the clients to stop, waits for "bye" and the exit; the final logs have stats.
  Status Quit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Every line it printed that was not understood (should stay empty).
  std::vector<std::string> unparsed();

 private:
  FaultClients() = default;
  void Read();
  void Parse(const std::string& line);

  ChildProcess child_;
  pid_t pid_ = -1;
  std::thread reader_;
  std::mutex mu_;
  FaultLogs logs_;
  std::vector<std::string> unparsed_;
  bool bye_ = false;
  bool ended_ = false;
};

// A scenario's users and conversations, made through `admin` (a connected BlockingClient of
// the test): users "<prefix>u<i>" with password "<name>-password"; one group of all of
// them and the direct conversations u<i> <-> u<i+1 mod n>; `devices` logins per user
// (device "d<j>"). Device d1 of each user sends `sends` messages to the group, d2 to its
// direct conversation with the next user; the other devices only receive.
struct FaultScenario {
  std::vector<UserId> users;
  std::vector<std::string> names;
  ConvId group = 0;
  std::vector<ConvId> directs;
  std::vector<FaultClientPlan> clients;
};
Result<FaultScenario> MakeFaultScenario(const client::ConnectOptions& connect,
                                        const std::string& prefix, int users, int devices,
                                        int sends);

// The end state every fault must leave (gtest expectations): for each client, its
// delivered events in strictly increasing user_seq, each equal to the server's sync
// timeline at that seq, and together with its own acknowledged sends covering the user's
// whole timeline 1..N; every planned send acknowledged once (no refusals); every
// conversation's history holding each body exactly once, at the acknowledged seq, each
// sender's in send order. Reads the truth through a fresh login per user.
void ExpectExactlyOnceInOrder(const client::ConnectOptions& connect, const FaultScenario& scenario,
                              const FaultLogs& logs);

// True when every client has an ack for each of its planned sends.
bool AllAcked(const FaultScenario& scenario, const FaultLogs& logs);
// The backlog a fault left: sends queued before `at_ms` and not acknowledged by then.
// Their number, and when the last of them was acknowledged (0 if one never was).
struct Backlog {
  size_t sends = 0;
  int64_t drained_at_ms = 0;
};
Backlog BacklogAt(const FaultLogs& logs, int64_t at_ms);
// The user's sync timeline length now (a fresh login).
Result<Seq> TimelineLength(const client::ConnectOptions& connect, const std::string& name);
// Every user's of the scenario, by user id (what AllCaughtUp compares against).
Result<std::map<UserId, Seq>> TimelineLengths(const client::ConnectOptions& connect,
                                              const FaultScenario& scenario);
// True when each client has seen (delivered or own-acked) every seq up to its user's
// length in `lengths` (by user name).
bool AllCaughtUp(const FaultScenario& scenario, const FaultLogs& logs,
                 const std::map<UserId, Seq>& lengths);

}  // namespace parley::test
