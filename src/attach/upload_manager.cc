#include "attach/upload_manager.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/json_integer.h"

namespace parley::attach {
namespace {

using nlohmann::json;

constexpr const char* kUploadsPrefix = "uploads/";
constexpr size_t kMaxStateBytes = 4 << 20;  // 10,000 part ids at most, with room to spare

bool IsHex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Hex(const unsigned char* p, size_t n) {
  std::string out(n * 2, '\0');
  sodium_bin2hex(out.data(), out.size() + 1, p, n);  // writes n*2 digits and a NUL
  return out;
}

// The running SHA-256 as hex of its fields, little-endian: readable on any node.
std::string SaveHash(const crypto_hash_sha256_state& st) {
  std::string raw;
  for (uint32_t w : st.state) {
    for (int i = 0; i < 4; ++i) raw.push_back(static_cast<char>(w >> (8 * i)));
  }
  for (int i = 0; i < 8; ++i) raw.push_back(static_cast<char>(st.count >> (8 * i)));
  raw.append(reinterpret_cast<const char*>(st.buf), sizeof(st.buf));
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

Result<crypto_hash_sha256_state> LoadHash(const std::string& hex) {
  std::string raw(hex.size() / 2, '\0');
  size_t len = 0;
  if (hex.size() != 2 * (32 + 8 + 64) ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), hex.data(),
                     hex.size(), nullptr, &len, nullptr) != 0 ||
      len != raw.size()) {
    return Status(Code::kCorruption, "upload state: bad hash state");
  }
  crypto_hash_sha256_state st{};
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  for (int w = 0; w < 8; ++w) {
    st.state[w] = 0;
    for (int i = 0; i < 4; ++i) st.state[w] |= static_cast<uint32_t>(p[4 * w + i]) << (8 * i);
  }
  st.count = 0;
  for (int i = 0; i < 8; ++i) st.count |= static_cast<uint64_t>(p[32 + i]) << (8 * i);
  std::memcpy(st.buf, p + 40, sizeof(st.buf));
  return st;
}

std::string StateKey(const std::string& id) { return kUploadsPrefix + id + ".json"; }
std::string PendingPrefix(UserId user) { return "uploads/users/" + std::to_string(user) + "/"; }
// One per upload in progress, named with its size: the quota counts them with a listing.
std::string PendingKey(const UploadState& st) {
  return PendingPrefix(st.spec.user) + st.id + "." + std::to_string(st.spec.size);
}

Status NoUpload(const std::string& id) { return Status(Code::kNotFound, "no upload '" + id + "'"); }

// A file name as it may be shown and offered for download: no path, no control
// characters, 1-255 bytes.
bool IsFileName(const std::string& name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         std::none_of(name.begin(), name.end(), [](char c) {
           return c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
         });
}

// "type/subtype" of RFC 6838 characters, at most 127 bytes.
bool IsMimeType(const std::string& mime) {
  const size_t slash = mime.find('/');
  return mime.size() <= 127 && slash != std::string::npos && slash > 0 && slash + 1 < mime.size() &&
         std::all_of(mime.begin(), mime.end(),
                     [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) ||
                              std::strchr("!#$&-^_.+/", c);
                     }) &&
         std::count(mime.begin(), mime.end(), '/') == 1;
}

}  // namespace

uint64_t SizesNamedIn(const std::vector<std::string>& keys) {
  uint64_t total = 0;
  for (const std::string& key : keys) {
    const size_t dot = key.rfind('.');
    uint64_t size = 0;
    if (dot != std::string::npos) {
      std::from_chars(key.data() + dot + 1, key.data() + key.size(), size);
    }
    total += size;
  }
  return total;
}

std::string AttachmentKey(const std::string& sha256) {
  return "att/" + sha256.substr(0, 2) + "/" + sha256.substr(2, 2) + "/" + sha256;
}

UploadManager::UploadManager(blob::BlobStore* store, UploadLimits limits,
                             std::function<int64_t()> now_ms)
    : store_(store), limits_(limits), now_ms_(std::move(now_ms)) {
  limits_.part_bytes = std::max<uint64_t>(limits_.part_bytes, blob::BlobStore::kMinPartBytes);
}

std::mutex& UploadManager::LockFor(const std::string& id) {
  return locks_[std::hash<std::string>{}(id) % locks_.size()];
}

Result<UploadState> UploadManager::Create(const UploadSpec& spec) {
  if (!IsHex(spec.sha256, 64)) {
    return InvalidArgument("sha256 must be 64 lower-case hex digits");
  }
  if (!IsFileName(spec.name)) {
    return InvalidArgument("name must be a file name of 1-255 bytes, without '/' or controls");
  }
  if (!IsMimeType(spec.mime)) return InvalidArgument("mime must be a type such as image/png");
  if (spec.size > limits_.max_file_bytes) {
    return Status(Code::kTooLarge, "file of " + std::to_string(spec.size) +
                                       " bytes is over the limit of " +
                                       std::to_string(limits_.max_file_bytes));
  }
  if (spec.size / limits_.part_bytes >= static_cast<uint64_t>(blob::BlobStore::kMaxParts)) {
    return Status(Code::kTooLarge, "file needs more than 10,000 parts");
  }
  UploadState st;
  st.id = RandomHex(16);
  st.spec = spec;
  st.created_ms = now_ms_();
  crypto_hash_sha256_state hash;
  crypto_hash_sha256_init(&hash);
  st.hash_state = SaveHash(hash);
  if (spec.size > 0) {
    PARLEY_ASSIGN_OR_RETURN(st.blob_upload, store_->StartMultipart(AttachmentKey(spec.sha256)));
  }
  PARLEY_RETURN_IF_ERROR(store_->Put(PendingKey(st), ""));
  PARLEY_RETURN_IF_ERROR(Save(st));
  return st;
}

Result<uint64_t> UploadManager::PendingBytes(UserId user) {
  PARLEY_ASSIGN_OR_RETURN(auto keys, store_->List(PendingPrefix(user)));
  return SizesNamedIn(keys);
}

Result<UploadState> UploadManager::Get(UserId user, const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(UploadState st, Load(id));
  // Someone else's upload is not there for this user (an id is not a capability), nor is
  // an expired one (CollectExpired removes it).
  if (st.spec.user != user || now_ms_() - st.created_ms >= limits_.ttl_ms) return NoUpload(id);
  return st;
}

Result<uint64_t> UploadManager::Append(UserId user, const std::string& id, uint64_t offset,
                                       std::string_view bytes) {
  std::lock_guard<std::mutex> lock(LockFor(id));
  PARLEY_ASSIGN_OR_RETURN(UploadState st, Get(user, id));
  if (offset != st.offset) {
    return Status(Code::kFailedPrecondition, "offset " + std::to_string(offset) +
                                                 " does not match the upload's " +
                                                 std::to_string(st.offset));
  }
  if (bytes.empty()) return InvalidArgument("an empty part");
  if (offset + bytes.size() > st.spec.size) {
    return Status(Code::kTooLarge,
                  "part ends past the declared size of " + std::to_string(st.spec.size) + " bytes");
  }
  const bool last = offset + bytes.size() == st.spec.size;
  if (!last && bytes.size() != limits_.part_bytes) {
    return InvalidArgument("every part but the last must be " + std::to_string(limits_.part_bytes) +
                           " bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(crypto_hash_sha256_state hash, LoadHash(st.hash_state));
  const int part = static_cast<int>(offset / limits_.part_bytes) + 1;
  // The part is hashed while the store writes it: the two take about as long.
  auto hashed = std::async(std::launch::async, [&hash, bytes] {
    crypto_hash_sha256_update(&hash, reinterpret_cast<const unsigned char*>(bytes.data()),
                              bytes.size());
  });
  auto part_id = store_->PutPart(AttachmentKey(st.spec.sha256), st.blob_upload, part, bytes);
  hashed.wait();
  PARLEY_RETURN_IF_ERROR(part_id.status());
  st.hash_state = SaveHash(hash);
  st.parts.push_back(std::move(*part_id));
  st.offset += bytes.size();
  PARLEY_RETURN_IF_ERROR(Save(st));
  return st.offset;
}

Result<StoredFile> UploadManager::Complete(UserId user, const std::string& id) {
  std::lock_guard<std::mutex> lock(LockFor(id));
  PARLEY_ASSIGN_OR_RETURN(UploadState st, Get(user, id));
  if (st.offset != st.spec.size) {
    return Status(Code::kFailedPrecondition, "upload has " + std::to_string(st.offset) + " of " +
                                                 std::to_string(st.spec.size) + " bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(crypto_hash_sha256_state hash, LoadHash(st.hash_state));
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&hash, digest);
  const std::string actual = Hex(digest, sizeof(digest));
  if (actual != st.spec.sha256) {
    Drop(st).IgnoreError();
    return InvalidArgument("the bytes received hash to " + actual + ", not the declared " +
                           st.spec.sha256 + "; the upload is discarded");
  }
  StoredFile out{AttachmentKey(actual), actual, st.spec.size, false};
  PARLEY_ASSIGN_OR_RETURN(auto existing, store_->Head(out.key));
  if (existing && existing->size == st.spec.size) {
    out.deduplicated = true;  // the same bytes are stored already: keep one copy
    PARLEY_RETURN_IF_ERROR(Drop(st));
    return out;
  }
  if (st.spec.size == 0) {
    PARLEY_RETURN_IF_ERROR(store_->Put(out.key, ""));
  } else {
    PARLEY_RETURN_IF_ERROR(store_->CompleteMultipart(out.key, st.blob_upload, st.parts));
  }
  store_->Delete(PendingKey(st)).IgnoreError();
  PARLEY_RETURN_IF_ERROR(store_->Delete(StateKey(st.id)));
  return out;
}

Status UploadManager::Abort(UserId user, const std::string& id) {
  std::lock_guard<std::mutex> lock(LockFor(id));
  PARLEY_ASSIGN_OR_RETURN(UploadState st, Get(user, id));
  return Drop(st);
}

Result<size_t> UploadManager::CollectExpired() {
  PARLEY_ASSIGN_OR_RETURN(auto keys, store_->List(kUploadsPrefix));
  size_t dropped = 0;
  const int64_t now = now_ms_();
  for (const std::string& key : keys) {
    if (!key.ends_with(".json")) continue;
    const std::string id = key.substr(std::strlen(kUploadsPrefix), 32);
    std::lock_guard<std::mutex> lock(LockFor(id));
    auto st = Load(id);
    if (!st.ok()) {
      if (st.status().code() == Code::kCorruption) store_->Delete(key).IgnoreError();
      continue;
    }
    if (now - st->created_ms < limits_.ttl_ms) continue;
    if (Drop(*st).ok()) ++dropped;
  }
  return dropped;
}

Result<UploadState> UploadManager::Load(const std::string& id) {
  if (!IsHex(id, 32)) return NoUpload(id);
  auto text = store_->Get(StateKey(id), {}, kMaxStateBytes);
  if (text.status().code() == Code::kNotFound) return NoUpload(id);
  PARLEY_RETURN_IF_ERROR(text.status());
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status(Code::kCorruption, "upload state of " + id);
  try {
    UploadState st;
    st.id = id;
    st.spec.user = JsonInteger<UserId>(j.at("user"));
    st.spec.conv = JsonInteger<ConvId>(j.at("conv"));
    st.spec.size = JsonInteger<uint64_t>(j.at("size"));
    st.spec.sha256 = j.at("sha256").get<std::string>();
    st.spec.mime = j.at("mime").get<std::string>();
    st.spec.name = j.at("name").get<std::string>();
    st.offset = JsonInteger<uint64_t>(j.at("offset"));
    st.blob_upload = j.at("blob_upload").get<std::string>();
    st.parts = j.at("parts").get<std::vector<std::string>>();
    st.hash_state = j.at("hash_state").get<std::string>();
    st.created_ms = JsonInteger<int64_t>(j.at("created_ms"));
    if (!IsHex(st.spec.sha256, 64) || st.offset > st.spec.size) {
      return Status(Code::kCorruption, "upload state of " + id);
    }
    return st;
  } catch (const json::exception&) {
    return Status(Code::kCorruption, "upload state of " + id);
  }
}

Status UploadManager::Save(const UploadState& st) {
  json j = {{"user", st.spec.user},        {"conv", st.spec.conv},          {"size", st.spec.size},
            {"sha256", st.spec.sha256},    {"mime", st.spec.mime},          {"name", st.spec.name},
            {"offset", st.offset},         {"blob_upload", st.blob_upload}, {"parts", st.parts},
            {"hash_state", st.hash_state}, {"created_ms", st.created_ms}};
  return store_->Put(StateKey(st.id), j.dump());
}

Status UploadManager::Drop(const UploadState& st) {
  if (!st.blob_upload.empty()) {
    store_->AbortMultipart(AttachmentKey(st.spec.sha256), st.blob_upload).IgnoreError();
  }
  store_->Delete(PendingKey(st)).IgnoreError();
  return store_->Delete(StateKey(st.id));
}

}  // namespace parley::attach
