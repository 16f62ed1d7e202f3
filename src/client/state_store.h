// StateStore: what a ReliableClient (and the CLI) keeps across restarts of the app — the
// session (server, user, device, token), the sync cursor, and the journal of sends not
// yet acknowledged. Losing the cursor means re-delivering events; losing the journal
// means losing messages, so FileStateStore replaces its file atomically and durably.
//
// Thread-safety: FileStateStore and MemoryStateStore serialise their own calls. Two
// processes must not share one state file (the last writer wins).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/records.h"

namespace parley::client {

// A send journaled before it went out; resent with the same client_msg_id until acked.
struct PendingSend {
  std::string client_msg_id;
  ConvId conv = 0;     // the conversation, or 0 with `to`
  std::string to;      // a user name (direct conversation), when conv is 0
  UserId to_user = 0;  // or a user id, when conv is 0 and `to` is empty
  MessageKind kind = MessageKind::kText;
  std::string body;
};

struct SessionState {
  std::string server;  // ws://HOST:PORT the token belongs to
  UserId user = 0;
  std::string name;
  std::string device;
  std::string token;
  Seq cursor = 0;            // the last user_seq processed
  uint64_t heads_since = 0;  // the last heads_next of sync
  std::vector<PendingSend> journal;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  // An empty state if nothing was saved yet.
  virtual Result<SessionState> Load() = 0;
  virtual Status Save(const SessionState& state) = 0;
};

// JSON in one file, replaced atomically: write a temp file, fsync it, rename it over the
// old one, fsync the directory. A crash leaves the old or the new state, never a torn
// one. Mode 0600 (it holds a bearer token); a directory it creates gets 0700.
class FileStateStore : public StateStore {
 public:
  explicit FileStateStore(std::string path) : path_(std::move(path)) {}
  Result<SessionState> Load() override;
  Status Save(const SessionState& state) override;
  // Deletes the file (logout); a missing file is fine.
  Status Remove();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
};

class MemoryStateStore : public StateStore {
 public:
  Result<SessionState> Load() override {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  Status Save(const SessionState& state) override {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = state;
    ++saves_;
    return Status::Ok();
  }
  size_t saves() {
    std::lock_guard<std::mutex> lock(mu_);
    return saves_;
  }

 private:
  std::mutex mu_;
  SessionState state_;
  size_t saves_ = 0;
};

// The JSON form of a state (the file's content), and back. Exposed for tests.
std::string StateToJson(const SessionState& state);
Result<SessionState> StateFromJson(std::string_view json);

}  // namespace parley::client
