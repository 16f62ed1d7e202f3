// StateStore: where a ReliableClient keeps what must survive a restart of the app — the
// token, the sync cursor, and the journal of sends not yet acknowledged.
//
// Thread-safety: FileStateStore and MemoryStateStore serialise their own calls.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/records.h"

namespace parley::client {

struct PendingSend {
  std::string client_msg_id;
  ConvId conv = 0;
  std::string to;  // a user name, when conv is 0
  std::string body;
};

struct SessionState {
  std::string server;
  UserId user = 0;
  std::string name;
  std::string device;
  std::string token;
  Seq cursor = 0;  // last user_seq processed
  uint64_t heads_since = 0;
  std::vector<PendingSend> journal;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  // An empty state if nothing was saved yet.
  virtual Result<SessionState> Load() = 0;
  virtual Status Save(const SessionState& state) = 0;
};

// JSON in one file, replaced atomically (write temp, fsync, rename, fsync the directory),
// mode 0600 because it holds a bearer token.
class FileStateStore : public StateStore {
 public:
  explicit FileStateStore(std::string path) : path_(std::move(path)) {}
  Result<SessionState> Load() override;
  Status Save(const SessionState& state) override;
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
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  SessionState state_;
};

}  // namespace parley::client
