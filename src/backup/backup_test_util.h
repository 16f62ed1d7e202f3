// Helpers of the backup tests: a target and an attachment store in memory (no fsync: tens of
// thousands of objects in a second), the entries of a backup, and blob indexes and format-3
// manifests made by hand, as a forger or an older version would make them.
#pragma once

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "backup/backup.h"
#include "blob/blob_store.h"

namespace parley::backup::testing {

namespace fs = std::filesystem;

inline std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
inline void WriteAll(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

// The keys of `objects` that start with `prefix`, in order.
template <class Map>
std::vector<std::string> KeysWithPrefix(const Map& objects, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto it = objects.lower_bound(prefix); it != objects.end(); ++it) {
    if (!it->first.starts_with(prefix)) break;
    out.push_back(it->first);
  }
  return out;
}

class MemoryTarget final : public Target {
 public:
  std::string Describe() const override { return "memory"; }
  Status Put(const std::string& name, std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu_);
    objects_[name] = std::string(data);
    return Status::Ok();
  }
  Result<std::string> Get(const std::string& name, size_t max_bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return Status(Code::kNotFound, name);
    if (it->second.size() > max_bytes) return Status(Code::kCorruption, name + " over the limit");
    return it->second;
  }
  Result<bool> Exists(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_.count(name) > 0;
  }
  Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::lock_guard<std::mutex> lock(mu_);
    return KeysWithPrefix(objects_, prefix);
  }
  Status Remove(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    objects_.erase(name);
    return Status::Ok();
  }
  Status CleanUp() override { return Status::Ok(); }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> objects_;
};

// Whole objects only (no multipart: the tests that use it hold small objects).
class MemoryBlobStore final : public blob::BlobStore {
 public:
  std::string Describe() const override { return "memory"; }
  Status Put(const std::string& key, std::string_view data) override {
    PARLEY_RETURN_IF_ERROR(blob::CheckKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    objects_[key] = std::string(data);
    return Status::Ok();
  }
  Result<std::string> Get(const std::string& key, blob::ByteRange range,
                          size_t max_bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status(Code::kNotFound, key);
    if (range.offset > it->second.size()) return Status(Code::kInvalidArgument, "range");
    std::string out =
        it->second.substr(range.offset, range.length == 0 ? std::string::npos : range.length);
    if (out.size() > max_bytes) return Status(Code::kCorruption, key + " over the limit");
    return out;
  }
  Status Read(const std::string& key, blob::ByteRange range, const blob::Sink& sink) override {
    PARLEY_ASSIGN_OR_RETURN(std::string bytes, Get(key, range, SIZE_MAX));
    return bytes.empty() ? Status::Ok() : sink(bytes);
  }
  Result<std::optional<blob::BlobInfo>> Head(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return std::optional<blob::BlobInfo>();
    return std::optional<blob::BlobInfo>(blob::BlobInfo{it->second.size()});
  }
  Status Delete(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    objects_.erase(key);
    return Status::Ok();
  }
  Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::lock_guard<std::mutex> lock(mu_);
    return KeysWithPrefix(objects_, prefix);
  }
  Result<std::string> StartMultipart(const std::string&) override {
    return Status(Code::kInternal, "no multipart in memory");
  }
  Result<std::string> PutPart(const std::string&, const std::string&, int,
                              std::string_view) override {
    return Status(Code::kInternal, "no multipart in memory");
  }
  Status CompleteMultipart(const std::string&, const std::string&,
                           const std::vector<std::string>&) override {
    return Status(Code::kInternal, "no multipart in memory");
  }
  Status AbortMultipart(const std::string&, const std::string&) override { return Status::Ok(); }
  std::optional<std::string> PresignGet(const std::string&, std::chrono::seconds, std::string_view,
                                        std::string_view) const override {
    return std::nullopt;
  }
  Status CleanUp() override { return Status::Ok(); }

  std::map<std::string, std::string> objects() {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> objects_;
};

// Every attachment store entry of backup `m` (ForEachBlob, which must succeed).
inline std::vector<BlobEntry> Entries(Target& target, const Manifest& m,
                                      const std::optional<Key>& key) {
  std::vector<BlobEntry> out;
  Status st = ForEachBlob(target, m, key, [&](const BlobEntry& b) {
    out.push_back(b);
    return Status::Ok();
  });
  if (!st.ok()) ADD_FAILURE() << st.ToString();
  return out;
}

// The hash tree of a stream of `size` bytes in chunks `ids` (backup.h FileEntry, format 2).
inline std::string TreeHashHex(uint64_t size, const std::vector<std::string>& ids,
                               const std::optional<Key>& key) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, key ? key->data() : nullptr, key ? key->size() : 0, 32);
  auto add = [&](const std::string& s) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  add("parley-file-tree-v2\n" + std::to_string(size) + "\n");
  for (const auto& id : ids) add(id + "\n");
  unsigned char digest[32];
  crypto_generichash_final(&state, digest, sizeof(digest));
  char hex[65];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return hex;
}

inline nlohmann::json EntryJson(const BlobEntry& b) {
  return {{"key", b.key},
          {"size", b.size},
          {"hash", b.hash},
          {"sha256", b.sha256},
          {"chunks", b.chunks}};
}

// The JSON Lines of a blob index listing `entries` (in the order given).
inline std::string IndexText(const std::vector<BlobEntry>& entries) {
  std::string text;
  for (const auto& b : entries) text += EntryJson(b).dump() + "\n";
  return text;
}

// Stores `text` as a blob index on `target` (pieces of `chunk_bytes`, sealed with `key`);
// the manifest's "blob_index" for it.
inline nlohmann::json PutIndex(Target& target, const std::string& text, size_t chunk_bytes,
                               const std::optional<Key>& key) {
  std::vector<std::string> ids;
  for (size_t at = 0; at < text.size(); at += chunk_bytes) {
    const std::string piece = text.substr(at, chunk_bytes);
    const std::string id = ContentId(piece, key);
    EXPECT_TRUE(target.Put("chunks/" + id.substr(0, 2) + "/" + id, Seal(piece, key)).ok());
    ids.push_back(id);
  }
  return {{"size", text.size()}, {"hash", TreeHashHex(text.size(), ids, key)}, {"chunks", ids}};
}

// `format4` (a manifest's JSON) as a format-3 manifest, as versions before the blob index
// wrote it: `entries` inline.
inline nlohmann::json AsFormat3(nlohmann::json format4, const std::vector<BlobEntry>& entries) {
  format4["format"] = 3;
  format4.erase("blob_index");
  format4.erase("blob_count");
  nlohmann::json blobs = nlohmann::json::array();
  for (const auto& b : entries) blobs.push_back(EntryJson(b));
  format4["blobs"] = std::move(blobs);
  return format4;
}

// A backup id (as Create makes them) for the time `ms`.
inline std::string IdAt(int64_t ms, const std::string& suffix = "000001") {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
  char millis[8];
  snprintf(millis, sizeof(millis), "%03d", static_cast<int>(ms % 1000));
  return std::string(stamp) + millis + "Z-" + suffix;
}

// The manifest of backup `id` as JSON.
inline nlohmann::json ManifestJson(Target& target, const std::string& id,
                                   const std::optional<Key>& key) {
  auto blob = target.Get("manifests/" + id, 64u << 20);
  EXPECT_TRUE(blob.ok()) << blob.status().ToString();
  auto text = Open(blob.ok() ? *blob : "", key, 64u << 20);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json();
}

// Stores `j` as the manifest of backup `id`, with the id and time of `id`, sealed with `key`.
inline void Plant(Target& target, const std::string& id, nlohmann::json j,
                  const std::optional<Key>& key) {
  j["id"] = id;
  struct tm tm {};
  ASSERT_NE(strptime(id.substr(0, 15).c_str(), "%Y%m%dT%H%M%S", &tm), nullptr);
  j["created_ms"] = int64_t{timegm(&tm)} * 1000 + std::stoi(id.substr(15, 3));
  ASSERT_TRUE(target.Put("manifests/" + id, Seal(j.dump(), key)).ok());
}

}  // namespace parley::backup::testing
