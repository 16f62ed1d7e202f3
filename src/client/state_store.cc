#include "client/state_store.h"

#include "model/names.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"

namespace parley::client {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Status Errno(const std::string& what) {
  return Status(Code::kIOError, what + ": " + std::strerror(errno));
}

}  // namespace

std::string StateToJson(const SessionState& s) {
  json journal = json::array();
  for (const auto& p : s.journal) {
    json e = {{"client_msg_id", p.client_msg_id},
              {"kind", std::string(MessageKindName(p.kind))},
              {"body", p.body}};
    if (p.conv) e["conv"] = p.conv;
    if (!p.to.empty()) e["to"] = p.to;
    if (p.to_user) e["to_user"] = p.to_user;
    journal.push_back(std::move(e));
  }
  json j = {{"server", s.server},
            {"user", s.user},
            {"name", s.name},
            {"device", s.device},
            {"token", s.token},
            {"cursor", s.cursor},
            {"heads_since", s.heads_since},
            {"journal", std::move(journal)}};
  return j.dump(2) + "\n";
}

Result<SessionState> StateFromJson(std::string_view text) {
  SessionState s;
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Status(Code::kCorruption, "state is not a JSON object");
    s.server = j.value("server", "");
    s.user = j.value("user", uint64_t{0});
    s.name = j.value("name", "");
    s.device = j.value("device", "");
    s.token = j.value("token", "");
    s.cursor = j.value("cursor", uint64_t{0});
    s.heads_since = j.value("heads_since", uint64_t{0});
    for (const auto& e : j.value("journal", json::array())) {
      PendingSend p;
      p.client_msg_id = e.at("client_msg_id").get<std::string>();
      p.conv = e.value("conv", uint64_t{0});
      p.to = e.value("to", "");
      p.to_user = e.value("to_user", uint64_t{0});
      p.kind = ParseMessageKind(e.value("kind", "text")).value_or(MessageKind::kText);
      p.body = e.at("body").get<std::string>();
      s.journal.push_back(std::move(p));
    }
  } catch (const std::exception& e) {
    return Status(Code::kCorruption, std::string("unreadable state: ") + e.what());
  }
  return s;
}

Result<SessionState> FileStateStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  if (!fs::exists(path_, ec) && !ec) return SessionState{};  // nothing saved yet
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Errno("cannot read " + path_);
  std::stringstream text;
  text << in.rdbuf();
  auto s = StateFromJson(text.str());
  if (!s.ok()) return Status(Code::kCorruption, path_ + ": " + s.status().message());
  return s;
}

Status FileStateStore::Save(const SessionState& s) {
  std::lock_guard<std::mutex> lock(mu_);
  const fs::path target(path_);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(dir.string()));  // 0700, parents too
  // Through a temporary file with a random name (O_EXCL|O_NOFOLLOW, 0600: it holds a
  // bearer token), fsync'd, renamed into place, the directory fsync'd: two stores saving
  // at once never share a temp file, and a symlink planted at any name is not followed.
  return WriteFileAtomically(path_, StateToJson(s), kPrivateFileMode);
}

Status FileStateStore::Remove() {
  std::lock_guard<std::mutex> lock(mu_);
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove " + path_);
  return Status::Ok();
}

}  // namespace parley::client
