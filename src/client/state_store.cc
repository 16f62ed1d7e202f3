#include "client/state_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace parley::client {
namespace fs = std::filesystem;
using nlohmann::json;

Result<SessionState> FileStateStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  SessionState s;
  std::ifstream in(path_);
  if (!in) return s;  // nothing saved yet
  try {
    json j = json::parse(in);
    s.server = j.value("server", "");
    s.user = j.value("user", uint64_t{0});
    s.name = j.value("name", "");
    s.device = j.value("device", "");
    s.token = j.value("token", "");
    s.cursor = j.value("cursor", uint64_t{0});
    s.heads_since = j.value("heads_since", uint64_t{0});
    for (const auto& p : j.value("journal", json::array())) {
      s.journal.push_back(PendingSend{p.value("client_msg_id", ""), p.value("conv", uint64_t{0}),
                                      p.value("to", ""), p.value("body", "")});
    }
  } catch (const std::exception& e) {
    return Status(Code::kCorruption, "state file " + path_ + ": " + e.what());
  }
  return s;
}

Status FileStateStore::Save(const SessionState& s) {
  std::lock_guard<std::mutex> lock(mu_);
  json j = {{"server", s.server},           {"user", s.user},          {"name", s.name},
            {"device", s.device},           {"token", s.token},        {"cursor", s.cursor},
            {"heads_since", s.heads_since}, {"journal", json::array()}};
  for (const auto& p : s.journal) {
    j["journal"].push_back(
        {{"client_msg_id", p.client_msg_id}, {"conv", p.conv}, {"to", p.to}, {"body", p.body}});
  }
  const std::string text = j.dump(2) + "\n";
  std::error_code ec;
  fs::path target(path_);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kIOError, "cannot write " + tmp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status(Code::kIOError, "cannot write " + tmp);
  fs::rename(tmp, target, ec);
  if (ec) return Status(Code::kIOError, "cannot replace " + path_ + ": " + ec.message());
  // The rename is durable only once the directory is synced.
  int dir =
      ::open(target.has_parent_path() ? target.parent_path().c_str() : ".", O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

}  // namespace parley::client
