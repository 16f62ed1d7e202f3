#include "client/upload_journal.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"

namespace parley::client {
namespace {

std::string EntryPath(const std::string& dir, const std::string& sha256) {
  return dir + "/" + sha256 + ".json";
}

}  // namespace

std::optional<UploadJournalEntry> LoadUploadEntry(const std::string& dir,
                                                  const std::string& sha256) {
  std::ifstream in(EntryPath(dir, sha256));
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  const auto o = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!o.is_object()) return std::nullopt;
  UploadJournalEntry e;
  try {  // value() throws on a field of another type: a damaged entry is no entry
    e.upload_id = o.value("upload_id", "");
    e.server = o.value("server", "");
    e.conv = o.value("conv", ConvId{0});
    e.path = o.value("path", "");
    e.size = o.value("size", uint64_t{0});
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (e.upload_id.empty()) return std::nullopt;
  return e;
}

Status SaveUploadEntry(const std::string& dir, const std::string& sha256,
                       const UploadJournalEntry& e) {
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(dir));
  const nlohmann::json o = {{"upload_id", e.upload_id},
                            {"server", e.server},
                            {"conv", e.conv},
                            {"path", e.path},
                            {"size", e.size}};
  return WriteFileAtomically(EntryPath(dir, sha256),
                             o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void RemoveUploadEntry(const std::string& dir, const std::string& sha256) {
  ::unlink(EntryPath(dir, sha256).c_str());
}

}  // namespace parley::client
