// Crowd: many users, each logged in on its own WebSocket that stays open — the idle
// population beside a `pairs` run, and the devices of the reconnect storm. A member is
// made on one connection: connect, `register` (an existing name is fine), `login` (which
// authenticates that connection and issues the device token); 48 members are made at a
// time (the server's hashing queue holds 64), `unavailable`/`rate_limited` replies are
// retried after their hint. Connections come from 127.0.0.2-65, spreading the ephemeral
// ports (and TIME_WAIT) over 64 source addresses.
//
// Thread-safety: one owner thread calls GrowTo/Close; the connections' handlers run on the
// crowd's loop thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/connection.h"
#include "net_common.h"
#include "pipeline.h"

namespace parley::bench {

// Raises the soft RLIMIT_NOFILE to the hard limit (10,000 idle connections need it).
void RaiseOpenFileLimit();

// The source address for connection `i` of a crowd: 127.0.0.2 … 127.0.0.65.
std::string CrowdSourceAddress(int i);

class Crowd {
 public:
  // Users are named prefix0, prefix1, …
  Crowd(std::string url, std::string prefix);
  ~Crowd();  // Close()
  Crowd(const Crowd&) = delete;
  Crowd& operator=(const Crowd&) = delete;

  // Makes members until there are `size` (bounded by `limit`). An error names how many
  // could not be made and the first reason.
  Status GrowTo(int size, std::chrono::seconds limit);
  int size() const { return static_cast<int>(accounts_.size()); }
  const std::vector<Account>& accounts() const { return accounts_; }
  // Member i's open, authenticated connection.
  const std::shared_ptr<client::Connection>& connection(int i) const { return conns_[i]; }
  client::EventLoop& loop() { return loop_; }
  // Closes every connection (the accounts and their tokens stay).
  void Close();

 private:
  void MakeMember(int i, std::function<void(JobEnd)> end);
  // A failed step of member i: retried if the server or the transport may do better later.
  JobEnd Failed(int i, const Status& status, int64_t retry_after_ms);

  std::string url_, prefix_;
  client::EventLoop loop_{1};  // first: stopped last, after the connections are closed
  std::vector<Account> accounts_;
  std::vector<std::shared_ptr<client::Connection>> conns_;
  std::mutex mu_;  // guards first_error_ and the slots being filled by GrowTo
  std::string first_error_;
};

}  // namespace parley::bench
