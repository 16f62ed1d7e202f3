#include "attach/catalog.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "attach/upload_manager.h"
#include "common/crypto.h"
#include "common/json_integer.h"

namespace parley::attach {
namespace {

using nlohmann::json;

constexpr size_t kMaxRecordBytes = 1 << 20;  // refs of many resends, a preview: far less

std::string RecordKey(const std::string& id) { return "meta/att/" + id + ".json"; }
std::string UserPrefix(UserId user) { return "meta/user/" + std::to_string(user) + "/"; }
std::string UserKey(const AttachmentRecord& r) {
  return UserPrefix(r.owner) + r.id + "." + std::to_string(r.size);
}
std::string ShaPrefix(const std::string& sha256) { return "meta/sha/" + sha256 + "/"; }
std::string LooseKey(const std::string& id) { return "meta/loose/" + id; }
constexpr const char* kLoosePrefix = "meta/loose/";

json ToJson(const AttachmentRecord& r) {
  return {{"conv", r.conv},
          {"owner", r.owner},
          {"name", r.name},
          {"mime", r.mime},
          {"sha256", r.sha256},
          {"size", r.size},
          {"image", r.image},
          {"width", r.width},
          {"height", r.height},
          {"preview", r.preview},
          {"created_ms", r.created_ms},
          {"refs", r.refs},
          {"ever_referenced", r.ever_referenced},
          {"unreferenced_ms", r.unreferenced_ms}};
}

Result<AttachmentRecord> FromJson(const std::string& id, const std::string& text) {
  const Status bad(Code::kCorruption, "attachment record " + id);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad;
  try {
    AttachmentRecord r;
    r.id = id;
    r.conv = JsonInteger<ConvId>(j.at("conv"));
    r.owner = JsonInteger<UserId>(j.at("owner"));
    r.name = j.at("name").get<std::string>();
    r.mime = j.at("mime").get<std::string>();
    r.sha256 = j.at("sha256").get<std::string>();
    r.size = JsonInteger<uint64_t>(j.at("size"));
    r.image = j.at("image").get<bool>();
    r.width = JsonInteger<int>(j.at("width"));
    r.height = JsonInteger<int>(j.at("height"));
    r.preview = j.at("preview").get<std::string>();
    r.created_ms = JsonInteger<int64_t>(j.at("created_ms"));
    r.refs = j.at("refs").get<std::vector<std::string>>();
    r.ever_referenced = j.at("ever_referenced").get<bool>();
    r.unreferenced_ms = JsonInteger<int64_t>(j.at("unreferenced_ms"));
    if (r.sha256.size() != 64) return bad;
    return r;
  } catch (const json::exception&) {
    return bad;
  }
}

}  // namespace

std::string ThumbnailKey(const std::string& sha256) { return "thumb/" + sha256 + ".webp"; }

std::string NewAttachmentId() { return RandomHex(16); }

bool IsAttachmentId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

AttachmentCatalog::AttachmentCatalog(blob::BlobStore* store, std::function<int64_t()> now_ms)
    : store_(store), now_ms_(std::move(now_ms)) {}

std::mutex& AttachmentCatalog::LockFor(const std::string& id) {
  return locks_[std::hash<std::string>{}(id) % locks_.size()];
}

Status AttachmentCatalog::Add(const AttachmentRecord& record) {
  if (!IsAttachmentId(record.id)) return InvalidArgument("bad attachment id");
  std::lock_guard<std::mutex> blob_lock(blob_mu_);
  // The sha entry first: from then on the collector keeps the bytes.
  PARLEY_RETURN_IF_ERROR(store_->Put(ShaPrefix(record.sha256) + record.id, ""));
  PARLEY_ASSIGN_OR_RETURN(auto bytes, store_->Head(AttachmentKey(record.sha256)));
  if (!bytes || bytes->size != record.size) {
    store_->Delete(ShaPrefix(record.sha256) + record.id).IgnoreError();
    return Status(Code::kUnavailable, "the file was being collected; upload it again");
  }
  AttachmentRecord r = record;
  r.refs.clear();
  r.ever_referenced = false;
  r.unreferenced_ms = r.created_ms;
  PARLEY_RETURN_IF_ERROR(store_->Put(LooseKey(r.id), ""));
  PARLEY_RETURN_IF_ERROR(store_->Put(UserKey(r), ""));
  return Save(r);
}

Result<AttachmentRecord> AttachmentCatalog::Get(const std::string& id) {
  if (!IsAttachmentId(id)) return NotFound("no attachment '" + id.substr(0, 64) + "'");
  auto text = store_->Get(RecordKey(id), {}, kMaxRecordBytes);
  if (text.status().code() == Code::kNotFound) return NotFound("no attachment '" + id + "'");
  PARLEY_RETURN_IF_ERROR(text.status());
  return FromJson(id, *text);
}

Result<AttachmentRecord> AttachmentCatalog::Reference(const std::string& id,
                                                      const std::string& ref) {
  std::lock_guard<std::mutex> lock(LockFor(id));
  PARLEY_ASSIGN_OR_RETURN(AttachmentRecord r, Get(id));
  if (std::find(r.refs.begin(), r.refs.end(), ref) != r.refs.end()) return r;
  const bool was_loose = r.refs.empty();
  r.refs.push_back(ref);
  r.ever_referenced = true;
  // The record first: a crash between the two leaves a stale loose entry, which the
  // collector skips (and removes) once it sees the references.
  PARLEY_RETURN_IF_ERROR(Save(r));
  if (was_loose) store_->Delete(LooseKey(id)).IgnoreError();
  return r;
}

Status AttachmentCatalog::Unreference(const std::string& id, const std::string& ref) {
  std::lock_guard<std::mutex> lock(LockFor(id));
  auto got = Get(id);
  if (got.status().code() == Code::kNotFound) return Status::Ok();
  PARLEY_RETURN_IF_ERROR(got.status());
  AttachmentRecord r = std::move(*got);
  auto it = std::find(r.refs.begin(), r.refs.end(), ref);
  if (it == r.refs.end()) return Status::Ok();
  r.refs.erase(it);
  if (r.refs.empty()) {
    r.unreferenced_ms = now_ms_();
    // The loose entry first: a crash between the two leaves it for a referenced record,
    // which the collector only drops.
    PARLEY_RETURN_IF_ERROR(store_->Put(LooseKey(id), ""));
  }
  return Save(r);
}

Result<uint64_t> AttachmentCatalog::UsageOf(UserId user) {
  PARLEY_ASSIGN_OR_RETURN(auto keys, store_->List(UserPrefix(user)));
  return SizesNamedIn(keys);
}

Result<CollectStats> AttachmentCatalog::Collect(const CollectPolicy& policy) {
  CollectStats stats;
  PARLEY_ASSIGN_OR_RETURN(auto loose, store_->List(kLoosePrefix));
  const int64_t now = now_ms_();
  for (const std::string& key : loose) {
    const std::string id = key.substr(std::string(kLoosePrefix).size());
    std::lock_guard<std::mutex> lock(LockFor(id));
    auto got = Get(id);
    if (got.status().code() == Code::kNotFound || got.status().code() == Code::kCorruption) {
      store_->Delete(key).IgnoreError();
      continue;
    }
    PARLEY_RETURN_IF_ERROR(got.status());
    if (!got->refs.empty()) {  // referenced again since: a stale entry
      store_->Delete(key).IgnoreError();
      continue;
    }
    const int64_t due = got->ever_referenced ? got->unreferenced_ms + policy.retention_ms
                                             : got->created_ms + policy.unsent_ttl_ms;
    if (now < due) continue;
    PARLEY_RETURN_IF_ERROR(Remove(*got, &stats));
  }
  return stats;
}

Status AttachmentCatalog::Remove(const AttachmentRecord& r, CollectStats* stats) {
  // The record last: until then a crash leaves it to be collected again.
  PARLEY_RETURN_IF_ERROR(store_->Delete(UserKey(r)));
  {
    std::lock_guard<std::mutex> blob_lock(blob_mu_);
    PARLEY_RETURN_IF_ERROR(store_->Delete(ShaPrefix(r.sha256) + r.id));
    PARLEY_ASSIGN_OR_RETURN(auto users, store_->List(ShaPrefix(r.sha256)));
    if (users.empty()) {
      PARLEY_RETURN_IF_ERROR(store_->Delete(ThumbnailKey(r.sha256)));
      PARLEY_RETURN_IF_ERROR(store_->Delete(AttachmentKey(r.sha256)));
      ++stats->blobs;
      stats->bytes += r.size;
    }
  }
  PARLEY_RETURN_IF_ERROR(store_->Delete(RecordKey(r.id)));
  PARLEY_RETURN_IF_ERROR(store_->Delete(LooseKey(r.id)));
  ++stats->attachments;
  return Status::Ok();
}

Status AttachmentCatalog::Save(const AttachmentRecord& r) {
  return store_->Put(RecordKey(r.id), ToJson(r).dump());
}

}  // namespace parley::attach
