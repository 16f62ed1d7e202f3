#include "backup/backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/files.h"
#include "common/json_integer.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestFormat = 2;      // 1: whole-file hashes (still read)
constexpr int kBlobManifestFormat = 3;  // 2 plus an attachment store's objects inline (read)
constexpr int kBlobIndexFormat = 4;     // 2 plus a blob index of an attachment store's objects
// The shortest entry of a blob index: `{"key":"meta/x","size":0,"hash":"<64>",…}`.
constexpr uint64_t kMinBlobIndexLineBytes = 100;

// A chunk id or file hash: 64 lower-case hex digits (BLAKE2b-256). Checked before an id
// becomes part of a path: a forged "../../etc/passwd" or "/dev/zero" never reaches one.
bool IsHexDigest(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool IsDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The time a backup id names ("20261123T101500123Z-1a2b3c", NewBackupId), or nullopt if
// `id` is not of that form.
std::optional<int64_t> BackupIdMillis(std::string_view id) {
  if (id.size() != 26 || id[8] != 'T' || id[18] != 'Z' || id[19] != '-' ||
      !IsDigits(id.substr(0, 8)) || !IsDigits(id.substr(9, 9))) {
    return std::nullopt;
  }
  if (!std::all_of(id.begin() + 20, id.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t len) { return std::stoi(std::string(id.substr(at, len))); };
  struct tm tm {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  return int64_t{timegm(&tm)} * 1000 + num(15, 3);
}

// A file path of a manifest: relative, without empty, "." or ".." components.
bool IsSafeRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// A key of an attachment store as a manifest may list it: a valid key (blob::CheckKey,
// which also refuses parts starting with '.', the local store's own) under att/, meta/ or
// thumb/; an att/ key is "att/ab/cd/<sha256>" (attach/catalog.h) and `sha256` its last
// part, other keys have none.
Status CheckBlobKey(const std::string& key, const std::string& sha256) {
  if (Status st = blob::CheckKey(key); !st.ok()) return Status(Code::kCorruption, st.message());
  if (key.starts_with("att/")) {
    const std::string hex = key.substr(key.rfind('/') + 1);
    if (!IsHexDigest(hex) ||
        key != "att/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/" + hex) {
      return Status(Code::kCorruption, "not an attachment key: '" + key.substr(0, 256) + "'");
    }
    if (sha256 != hex) return Status(Code::kCorruption, "sha256 of " + key + " is not its name");
    return Status::Ok();
  }
  if (!key.starts_with("meta/") && !key.starts_with("thumb/")) {
    return Status(Code::kCorruption,
                  "not a key of attachments to back up: '" + key.substr(0, 256) + "'");
  }
  if (!sha256.empty()) return Status(Code::kCorruption, key + " has a sha256");
  return Status::Ok();
}

// The SHA-256 an att/ key names (its last part); "" for other keys.
std::string NamedSha256(const std::string& key) {
  return key.starts_with("att/") ? key.substr(key.rfind('/') + 1) : std::string();
}

// Every chunk holds 1 to kMaxChunkBytes bytes.
bool SizeFitsChunks(uint64_t size, size_t chunks) {
  return chunks <= size && size <= chunks * uint64_t{kMaxChunkBytes};
}

// An entry of a manifest (format 3) or of a blob index (format 4), checked as strictly as a
// file's: its key becomes a path of a restore, its chunk ids names on the target.
Status CheckBlobEntry(const BlobEntry& b) {
  PARLEY_RETURN_IF_ERROR(CheckBlobKey(b.key, b.sha256));
  if (!IsHexDigest(b.hash)) return Status(Code::kCorruption, "bad hash for " + b.key);
  for (const std::string& id : b.chunks) {
    if (!IsHexDigest(id)) {
      return Status(Code::kCorruption, "bad chunk id '" + id.substr(0, 80) + "' for " + b.key);
    }
  }
  if (!SizeFitsChunks(b.size, b.chunks.size())) {
    return Status(Code::kCorruption, "size of " + b.key + " does not fit its chunk count");
  }
  return Status::Ok();
}

nlohmann::json BlobEntryJson(const BlobEntry& b) {
  return {{"key", b.key},
          {"size", b.size},
          {"hash", b.hash},
          {"sha256", b.sha256},
          {"chunks", b.chunks}};
}

// Throws (nlohmann) on a missing field or one of another type.
BlobEntry BlobEntryFromJson(const nlohmann::json& b) {
  return BlobEntry{b.at("key").get<std::string>(), JsonInteger<uint64_t>(b.at("size")),
                   b.at("hash").get<std::string>(), b.at("sha256").get<std::string>(),
                   b.at("chunks").get<std::vector<std::string>>()};
}

std::string ChunkName(const std::string& id) { return "chunks/" + id.substr(0, 2) + "/" + id; }
std::string ManifestName(const std::string& id) { return "manifests/" + id; }

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Invalid(const std::string& why) { return Status(Code::kCorruption, "manifest " + why); }

// Parses a manifest with bounded memory: nesting deeper than a manifest's, or more JSON
// values than its size allows for (a chunk id costs ~67 bytes), stops the parser before
// a forged "[0,0,0,…]" turns 32 MiB of text into gigabytes of values.
nlohmann::json ParseBounded(const std::string& text) {
  const size_t max_values = text.size() / 8 + 256;
  size_t values = 0;
  return nlohmann::json::parse(text,
                               [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
                                 if (depth > 8) throw std::runtime_error("nested too deep");
                                 if (++values > max_values)
                                   throw std::runtime_error("too many values for its size");
                                 return true;
                               });
}

std::string NewBackupId(int64_t now_ms) {
  const time_t secs = static_cast<time_t>(now_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
  char rest[24];
  snprintf(rest, sizeof(rest), "%03dZ-%06x", static_cast<int>(now_ms % 1000),
           randombytes_uniform(0xFFFFFF));
  return std::string(stamp) + rest;
}

// RocksDB never rewrites a table file: same name and size means the same contents.
bool Immutable(const std::string& path) {
  return path.ends_with(".sst") || path.ends_with(".blob");
}

json ToJson(const Manifest& m) {
  json files = json::array();
  for (const auto& f : m.files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"hash", f.hash}, {"chunks", f.chunks}});
  }
  json j = {{"format", m.format},         {"id", m.id},
            {"created_ms", m.created_ms}, {"kind", m.kind},
            {"parent", m.parent},         {"encrypted", m.encrypted},
            {"messages", m.messages},     {"bytes", m.bytes},
            {"new_bytes", m.new_bytes},   {"stored_bytes", m.stored_bytes},
            {"seconds", m.seconds},       {"files", files}};
  if (m.format == kBlobIndexFormat) {  // Create writes no other format with objects
    j["blob_count"] = m.blob_count;
    j["blob_bytes"] = m.blob_bytes;
    j["blob_index"] = {
        {"size", m.blob_index.size}, {"hash", m.blob_index.hash}, {"chunks", m.blob_index.chunks}};
  }
  return j;
}

// Parses and checks a manifest stored as `name` (its id): every id, hash, path, size and
// count is checked here, once, so that no later step builds a path from a forged id or
// sizes anything by a forged count. kCorruption naming the first problem.
Result<Manifest> FromJson(const std::string& text, const std::string& name, int64_t now_ms) {
  Manifest m;
  try {
    json j = ParseBounded(text);
    m.format = JsonInteger<int>(j.at("format"));
    if (m.format != 1 && m.format != kManifestFormat && m.format != kBlobManifestFormat &&
        m.format != kBlobIndexFormat) {
      return Status(Code::kCorruption, "manifest of an unknown format");
    }
    m.id = j.at("id").get<std::string>();
    m.created_ms = JsonInteger<int64_t>(j.at("created_ms"));
    m.kind = j.at("kind").get<std::string>();
    m.parent = j.at("parent").get<std::string>();
    m.encrypted = j.at("encrypted").get<bool>();
    m.messages = JsonInteger<uint64_t>(j.at("messages"));
    m.bytes = JsonInteger<uint64_t>(j.at("bytes"));
    m.new_bytes = JsonInteger<uint64_t>(j.at("new_bytes"));
    m.stored_bytes = JsonInteger<uint64_t>(j.at("stored_bytes"));
    m.seconds = j.at("seconds").get<double>();
    for (const auto& f : j.at("files")) {
      m.files.push_back(FileEntry{
          f.at("path").get<std::string>(), JsonInteger<uint64_t>(f.at("size")),
          f.at("hash").get<std::string>(), f.at("chunks").get<std::vector<std::string>>()});
    }
    if (m.format == kBlobManifestFormat) {
      m.blob_bytes = JsonInteger<uint64_t>(j.at("blob_bytes"));
      for (const auto& b : j.at("blobs")) m.blobs.push_back(BlobEntryFromJson(b));
      m.blob_count = m.blobs.size();
    }
    if (m.format == kBlobIndexFormat) {
      m.blob_count = JsonInteger<uint64_t>(j.at("blob_count"));
      m.blob_bytes = JsonInteger<uint64_t>(j.at("blob_bytes"));
      const json& index = j.at("blob_index");
      m.blob_index.size = JsonInteger<uint64_t>(index.at("size"));
      m.blob_index.hash = index.at("hash").get<std::string>();
      m.blob_index.chunks = index.at("chunks").get<std::vector<std::string>>();
    }
  } catch (const std::exception& e) {
    return Status(Code::kCorruption, std::string("manifest does not parse: ") + e.what());
  }
  // Whose manifest it is: its own id, and the time in it, agree with its name; a copy of
  // a genuine manifest under another name is refused.
  if (m.id != name) return Invalid(name + " names itself '" + m.id.substr(0, 64) + "'");
  const std::optional<int64_t> named_ms = BackupIdMillis(name);
  if (!named_ms || *named_ms != m.created_ms) {
    return Invalid(name + ": created_ms does not match the time in its id");
  }
  // Without a key anyone who can write to the target can forge a manifest: one dated in
  // the future would otherwise become "latest" (and the parent of the next incremental).
  if (m.created_ms > now_ms + kMaxClockSkewMs) {
    return Invalid(name + " is dated in the future");
  }
  if (m.kind != "full" && m.kind != "incremental") return Invalid(name + ": unknown kind");
  if (!m.parent.empty() && !BackupIdMillis(m.parent)) return Invalid(name + ": bad parent id");
  std::set<std::string_view> paths;
  uint64_t total = 0;
  for (const FileEntry& f : m.files) {
    if (!IsSafeRelativePath(f.path)) {
      return Invalid(name + " names a path outside the store: '" + f.path.substr(0, 256) + "'");
    }
    if (!paths.insert(f.path).second) return Invalid(name + " lists " + f.path + " twice");
    if (!IsHexDigest(f.hash)) return Invalid(name + ": bad file hash for " + f.path);
    for (const std::string& id : f.chunks) {
      if (!IsHexDigest(id)) {
        return Invalid(name + ": bad chunk id '" + id.substr(0, 80) + "' for " + f.path);
      }
    }
    if (!SizeFitsChunks(f.size, f.chunks.size())) {
      return Invalid(name + ": size of " + f.path + " does not fit its chunk count");
    }
    if (f.size > UINT64_MAX - total) return Invalid(name + ": sizes overflow");
    total += f.size;
  }
  if (total != m.bytes) return Invalid(name + ": file sizes do not add up to its size");
  // The attachment store's objects, as strictly: their keys become paths of a restore.
  // Format 3: inline, checked here; format 4: the blob index, whose entries are checked as
  // they are read (BlobIndexReader).
  std::set<std::string_view> keys;
  total = 0;
  for (const BlobEntry& b : m.blobs) {
    if (Status st = CheckBlobEntry(b); !st.ok()) return Invalid(name + ": " + st.message());
    if (!keys.insert(b.key).second) return Invalid(name + " lists " + b.key + " twice");
    if (b.size > UINT64_MAX - total) return Invalid(name + ": sizes overflow");
    total += b.size;
  }
  if (m.format == kBlobManifestFormat && total != m.blob_bytes) {
    return Invalid(name + ": attachment sizes do not add up to its blob_bytes");
  }
  if (m.format == kBlobIndexFormat) {
    const BlobIndex& index = m.blob_index;
    if (!IsHexDigest(index.hash)) return Invalid(name + ": bad hash for its blob index");
    for (const std::string& id : index.chunks) {
      if (!IsHexDigest(id)) {
        return Invalid(name + ": bad chunk id '" + id.substr(0, 80) + "' for its blob index");
      }
    }
    if (!SizeFitsChunks(index.size, index.chunks.size()) || index.size > kMaxBlobIndexBytes) {
      return Invalid(name + ": size of its blob index does not fit its chunk count or is over " +
                     std::to_string(kMaxBlobIndexBytes) + " bytes");
    }
    if (m.blob_count > index.size / kMinBlobIndexLineBytes) {
      return Invalid(name + ": blob_count does not fit the size of its blob index");
    }
  }
  return m;
}

// Incremental BLAKE2b of a whole file, keyed like chunk ids.
class FileHasher {
 public:
  explicit FileHasher(const std::optional<Key>& key) {
    crypto_generichash_init(&state_, key ? key->data() : nullptr, key ? key->size() : 0, 32);
  }
  void Add(std::string_view data) {
    crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(data.data()),
                              data.size());
  }
  std::string Hex() {
    unsigned char digest[32];
    crypto_generichash_final(&state_, digest, sizeof(digest));
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    return hex;
  }

 private:
  crypto_generichash_state state_;
};

// The format-2 file hash (backup.h FileEntry).
std::string TreeHash(uint64_t size, const std::vector<std::string>& chunk_ids,
                     const std::optional<Key>& key) {
  FileHasher hasher(key);
  hasher.Add("parley-file-tree-v2\n" + std::to_string(size) + "\n");
  for (const auto& id : chunk_ids) hasher.Add(id + "\n");
  return hasher.Hex();
}

// Reads and checks one chunk: it opens (authentic, intact) and its content matches its id.
Result<std::string> ReadChunk(Target& target, const std::string& id,
                              const std::optional<Key>& key) {
  if (!IsHexDigest(id)) return Status(Code::kCorruption, "bad chunk id");  // FromJson checked
  auto blob = target.Get(ChunkName(id), MaxBlobBytes(kMaxChunkBytes));
  if (!blob.ok()) {
    return Status(blob.status().code(), "chunk " + id + ": " + blob.status().message());
  }
  auto plain = Open(*blob, key, kMaxChunkBytes);
  if (!plain.ok()) {
    return Status(plain.status().code(),
                  "chunk " + id + ": " + std::string(plain.status().message()));
  }
  if (ContentId(*plain, key) != id) {
    return Status(Code::kCorruption, "chunk " + id + ": content does not match its id");
  }
  return plain;
}

// Streaming SHA-256 (libsodium), as attachment keys name their bytes.
class Sha256 {
 public:
  Sha256() { crypto_hash_sha256_init(&state_); }
  void Add(std::string_view data) {
    crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(data.data()),
                              data.size());
  }
  std::string Hex() {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state_, digest);
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    return hex;
  }

 private:
  crypto_hash_sha256_state state_;
};

// One piece of a file, named, and stored unless the target has it (or `full`).
struct StoredPiece {
  Status status = Status::Ok();
  std::string id;
  uint64_t new_bytes = 0;
  uint64_t stored_bytes = 0;
};

// Blobs at least this large are written one at a time (see ChunkWriter).
constexpr size_t kLargeWrite = 512u << 10;

// `writing` admits one large Put at a time.
StoredPiece StorePiece(Target& target, const std::string& piece, const CreateOptions& options,
                       std::mutex& writing) {
  StoredPiece out;
  out.id = ContentId(piece, options.key);
  auto have = target.Exists(ChunkName(out.id));
  if (!have.ok()) {
    out.status = have.status();
    return out;
  }
  if (!*have || options.full) {
    std::string blob = Seal(piece, options.key, options.zstd_level);
    std::unique_lock<std::mutex> lock(writing, std::defer_lock);
    if (blob.size() >= kLargeWrite) lock.lock();
    out.status = target.Put(ChunkName(out.id), blob);
    out.new_bytes = piece.size();
    out.stored_bytes = blob.size();
  }
  return out;
}

// Full-sized pieces sealed and stored at once, besides the reading thread: one per core
// for compression and encryption, plus one, as a piece spends part of its time waiting
// for the disk (Put syncs). Memory: about three chunk sizes per piece in flight.
size_t PiecesInFlight() {
  return std::clamp<size_t>(std::thread::hardware_concurrency() + 1, 2, 8);
}
// Small pieces (most files of an incremental) cost little memory or CPU but as much waiting
// for the disk as large ones: up to this many at once, so that their syncs overlap.
constexpr size_t kMostPiecesInFlight = 16;

// Cuts byte streams (store files, attachment objects) into pieces of chunk_bytes, and
// names, seals and stores them (StorePiece) on other threads — across stream boundaries,
// so that small streams do not wait for each other's fsyncs — collecting each stream's
// chunk ids back in order. Pieces are sealed in parallel, but large ones written one at a
// time: the device queue then holds at most about one chunk of backup writes ahead of the
// live store's own (whose commits wait for their fsyncs), and one writer keeps up with the
// sealing. Besides the one stream at a time of Begin/Add/End, a caller may cut streams of
// its own (Stream) at the same time, such as the blob index beside the objects it lists.
// Used by one thread; destruction waits for the pieces in flight.
class ChunkWriter {
 public:
  // A stream being cut: its chunk ids go to `*chunks`, which must stay where it is until its
  // pieces are collected (Finish, or Collected(Mark()) after its End).
  struct Stream {
    std::vector<std::string>* chunks = nullptr;
    std::string buffer;
  };

  ChunkWriter(Target& target, const CreateOptions& options)
      : target_(target),
        options_(options),
        bytes_in_flight_(PiecesInFlight() * options.chunk_bytes) {}

  void Begin(std::vector<std::string>* chunks) { Begin(main_, chunks); }
  Status Add(std::string_view data) { return Add(main_, data); }
  Status End() { return End(main_); }

  // Starts a stream.
  void Begin(Stream& s, std::vector<std::string>* chunks) {
    s.chunks = chunks;
    s.buffer.clear();
  }
  // More bytes of the stream. Fails with the first error of any piece stored so far.
  Status Add(Stream& s, std::string_view data) {
    while (!data.empty()) {
      if (s.buffer.empty()) s.buffer.reserve(options_.chunk_bytes);
      const size_t n = std::min(data.size(), options_.chunk_bytes - s.buffer.size());
      s.buffer.append(data.substr(0, n));
      data.remove_prefix(n);
      if (s.buffer.size() == options_.chunk_bytes) PARLEY_RETURN_IF_ERROR(Submit(s));
    }
    return failed_;
  }
  // Ends the stream: its last (shorter) piece goes.
  Status End(Stream& s) {
    if (!s.buffer.empty()) PARLEY_RETURN_IF_ERROR(Submit(s));
    s.chunks = nullptr;
    return failed_;
  }
  // Waits for every piece; the first error. The writer may be used on afterwards.
  Status Finish() {
    while (!pending_.empty()) CollectOne();
    return failed_;
  }
  // The number of pieces submitted so far; Collected(mark): each of the first `mark` has
  // its id in place (pieces are collected in order), or failed (then every later call fails).
  uint64_t Mark() const { return submitted_; }
  bool Collected(uint64_t mark) const { return collected_ >= mark; }
  uint64_t new_bytes() const { return new_bytes_; }
  uint64_t stored_bytes() const { return stored_bytes_; }

 private:
  struct Pending {
    std::vector<std::string>* chunks;
    uint64_t bytes;
    std::future<StoredPiece> piece;
  };

  Status Submit(Stream& s) {
    const size_t n = s.buffer.size();
    while (!pending_.empty() &&
           (pending_bytes_ + n > bytes_in_flight_ || pending_.size() >= kMostPiecesInFlight)) {
      CollectOne();
    }
    PARLEY_RETURN_IF_ERROR(failed_);
    pending_bytes_ += n;
    ++submitted_;
    pending_.push_back(
        Pending{s.chunks, n,
                std::async(std::launch::async, [&target = target_, &options = options_,
                                                &writing = writing_, piece = std::move(s.buffer)] {
                  return StorePiece(target, piece, options, writing);
                })});
    s.buffer = std::string();
    return Status::Ok();
  }

  void CollectOne() {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= p.bytes;
    ++collected_;
    StoredPiece done = p.piece.get();
    if (!done.status.ok()) {
      if (failed_.ok()) failed_ = done.status;
      return;
    }
    new_bytes_ += done.new_bytes;
    stored_bytes_ += done.stored_bytes;
    p.chunks->push_back(std::move(done.id));
  }

  Target& target_;
  const CreateOptions& options_;
  const uint64_t bytes_in_flight_;
  std::mutex writing_;  // declared before `pending_`, whose futures use it
  std::deque<Pending> pending_;
  uint64_t pending_bytes_ = 0;
  Status failed_ = Status::Ok();
  Stream main_;
  uint64_t submitted_ = 0;
  uint64_t collected_ = 0;
  uint64_t new_bytes_ = 0;
  uint64_t stored_bytes_ = 0;
};

// Reads `path` to its end into `writer` (as one stream); its size as read.
Result<uint64_t> ChunkFile(const fs::path& path, ChunkWriter& writer,
                           std::vector<std::string>* chunks, std::string& buffer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kIOError, "read " + path.string());
  writer.Begin(chunks);
  uint64_t size = 0;
  for (;;) {  // ends at end of file: every read consumes or fails
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    size += n;
    PARLEY_RETURN_IF_ERROR(writer.Add(std::string_view(buffer.data(), n)));
  }
  if (in.bad()) return Status(Code::kIOError, "read " + path.string());
  PARLEY_RETURN_IF_ERROR(writer.End());
  return size;
}

// The entries of a backup's attachment store objects, one at a time, checked: the inline
// ones of format 3 (checked by FromJson), or those of the format-4 blob index, read one
// chunk at a time (ReadChunk checks each) and checked entry by entry as FromJson checks
// inline ones, in strict key order, and at the end against the manifest's size, count and
// bytes. The first error sticks. Memory: a chunk and an entry.
class BlobIndexReader {
 public:
  BlobIndexReader(Target& target, const Manifest& m, const std::optional<Key>& key)
      : target_(target), m_(m), key_(key) {}

  // The next entry into `*out` (true), or false after the last one.
  Result<bool> Next(BlobEntry* out) {
    if (!failed_.ok()) return failed_;
    if (m_.format == kBlobManifestFormat) {
      if (next_ == m_.blobs.size()) return false;
      *out = m_.blobs[next_++];
      return true;
    }
    if (m_.format != kBlobIndexFormat || done_) return false;
    Result<bool> r = NextFromIndex(out);
    if (!r.ok()) failed_ = r.status();
    return r;
  }

 private:
  Status Bad(const std::string& why) const { return Invalid(m_.id + ": its blob index " + why); }

  Result<bool> NextFromIndex(BlobEntry* out) {
    const BlobIndex& index = m_.blob_index;
    if (next_ == 0 && read_ == 0 && TreeHash(index.size, index.chunks, key_) != index.hash) {
      return Bad("does not match its hash");
    }
    for (;;) {
      const size_t newline = buffer_.find('\n', pos_);
      if (newline != std::string::npos) {
        const std::string_view line(buffer_.data() + pos_, newline - pos_);
        pos_ = newline + 1;
        PARLEY_RETURN_IF_ERROR(Parse(line, out));
        return true;
      }
      if (buffer_.size() - pos_ > kMaxBlobIndexLineBytes) {
        return Bad("has an entry over " + std::to_string(kMaxBlobIndexLineBytes) + " bytes");
      }
      if (next_ == index.chunks.size()) break;
      const std::string& id = index.chunks[next_++];
      auto plain = ReadChunk(target_, id, key_);
      if (!plain.ok()) {
        return Status(plain.status().code(), "manifest " + m_.id + ": its blob index: " +
                                                 std::string(plain.status().message()));
      }
      read_ += plain->size();
      if (read_ > index.size) return Bad("is larger than its size");
      buffer_.erase(0, pos_);
      pos_ = 0;
      buffer_ += *plain;
    }
    if (pos_ != buffer_.size()) return Bad("ends in the middle of an entry");
    if (read_ != index.size) return Bad("is shorter than its size");
    if (count_ != m_.blob_count) {
      return Bad("lists " + std::to_string(count_) + " objects, not its blob_count " +
                 std::to_string(m_.blob_count));
    }
    if (bytes_ != m_.blob_bytes) return Bad("sizes do not add up to its blob_bytes");
    done_ = true;
    buffer_ = std::string();
    return false;
  }

  Status Parse(std::string_view line, BlobEntry* out) {
    if (count_ == m_.blob_count) return Bad("lists more objects than its blob_count");
    try {
      *out = BlobEntryFromJson(ParseBounded(std::string(line)));
    } catch (const std::exception& e) {
      return Bad("entry " + std::to_string(count_ + 1) + " does not parse: " + e.what());
    }
    if (Status st = CheckBlobEntry(*out); !st.ok()) return Bad(st.message());
    if (count_ > 0 && out->key <= last_key_) {
      return Bad(out->key == last_key_
                     ? "lists " + out->key + " twice"
                     : "is not sorted by key (" + out->key + " after " + last_key_ + ")");
    }
    if (out->size > m_.blob_bytes - bytes_) {
      return Bad("sizes do not add up to its blob_bytes");
    }
    bytes_ += out->size;
    ++count_;
    last_key_ = out->key;
    return Status::Ok();
  }

  Target& target_;
  const Manifest& m_;
  const std::optional<Key>& key_;
  Status failed_ = Status::Ok();
  bool done_ = false;
  size_t next_ = 0;  // the next inline entry, or the next chunk of the index
  std::string buffer_;
  size_t pos_ = 0;     // of the next entry in buffer_
  uint64_t read_ = 0;  // bytes of the index read
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
  std::string last_key_;
};

// An entry of ChunkBlobs waiting for its chunk ids (the pieces before `mark`) to be written
// into the blob index.
struct QueuedBlob {
  BlobEntry entry;
  uint64_t mark = 0;
  bool dropped = false;  // left out: deleted meanwhile, or damaged
};
// ChunkBlobs waits for the pieces in flight when this many entries wait for them.
constexpr size_t kMostQueuedBlobs = 4096;

// Backs up the objects of `blobs` under kBlobPrefixes, writing their entries into a blob
// index (m->blob_index, blob_count, blob_bytes; and skipped_blobs). Reuses the entries the
// backup `parent` lists for att/ objects (their key names their bytes) and thumb/ objects
// of the same size, found by merging its index (sorted by key) with the listing (sorted
// too); a parent whose index turns out bad is used no further (the objects after it are
// read). Memory: the keys of one prefix, and the entries whose pieces are in flight.
Status ChunkBlobs(blob::BlobStore& blobs, Target& target, const Manifest& parent,
                  const CreateOptions& options, ChunkWriter& writer, Manifest* m) {
  BlobIndexReader previous(target, parent, options.key);
  BlobEntry prev;
  bool have_prev = false;
  bool prev_done = false;
  // The parent's entry for `key`, or null; keys come in increasing order.
  auto parent_entry = [&](const std::string& key) -> const BlobEntry* {
    while (!prev_done && (!have_prev || prev.key < key)) {
      auto next = previous.Next(&prev);
      have_prev = next.ok() && *next;
      prev_done = !have_prev;
    }
    return have_prev && prev.key == key ? &prev : nullptr;
  };
  ChunkWriter::Stream index;
  writer.Begin(index, &m->blob_index.chunks);
  std::deque<QueuedBlob> queue;  // stable addresses: the writer fills their chunk ids
  std::string line;
  // Writes the entries whose chunk ids are in place into the index (`all`: every one).
  auto emit = [&](bool all) -> Status {
    if (all) PARLEY_RETURN_IF_ERROR(writer.Finish());
    while (!queue.empty() && writer.Collected(queue.front().mark)) {
      BlobEntry& b = queue.front().entry;
      if (!queue.front().dropped) {
        if (b.hash.empty()) b.hash = TreeHash(b.size, b.chunks, options.key);
        line = BlobEntryJson(b).dump();
        line += '\n';
        if (line.size() > kMaxBlobIndexLineBytes) {
          return Status(Code::kResourceExhausted, "the entry of " + b.key + " would exceed " +
                                                      std::to_string(kMaxBlobIndexLineBytes) +
                                                      " bytes: use larger chunks");
        }
        if (line.size() > kMaxBlobIndexBytes - m->blob_index.size) {
          return Status(Code::kResourceExhausted,
                        "the blob index would exceed " + std::to_string(kMaxBlobIndexBytes) +
                            " bytes (" + std::to_string(m->blob_count) + " attachment objects)");
        }
        PARLEY_RETURN_IF_ERROR(writer.Add(index, line));
        m->blob_index.size += line.size();
        ++m->blob_count;
        m->blob_bytes += b.size;
      }
      queue.pop_front();
    }
    return Status::Ok();
  };
  // The prefixes in order: every key under one sorts before every key under the next, so
  // the keys come sorted, one prefix's listing in memory at a time.
  for (const char* prefix : kBlobPrefixes) {
    PARLEY_ASSIGN_OR_RETURN(auto keys, blobs.List(prefix));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (std::string& key : keys) {
      if (!key.starts_with(prefix)) continue;  // not asked for
      QueuedBlob q;
      q.entry.sha256 = NamedSha256(key);
      if (Status st = CheckBlobKey(key, q.entry.sha256); !st.ok()) {
        m->skipped_blobs.push_back(key + ": " + st.message());
        continue;
      }
      q.entry.key = std::move(key);
      const std::string& k = q.entry.key;
      if (const BlobEntry* p = parent_entry(k); p != nullptr && !k.starts_with("meta/")) {
        bool same = k.starts_with("att/");  // content-addressed: the key names the bytes
        if (!same) {
          PARLEY_ASSIGN_OR_RETURN(auto info, blobs.Head(k));
          same = info && info->size == p->size;
        }
        if (same) {
          q.entry = *p;
          q.mark = writer.Mark();
          queue.push_back(std::move(q));
          PARLEY_RETURN_IF_ERROR(emit(queue.size() >= kMostQueuedBlobs));
          continue;
        }
      }
      queue.push_back(std::move(q));
      QueuedBlob& added = queue.back();
      BlobEntry& b = added.entry;
      std::optional<Sha256> sha;
      if (!b.sha256.empty()) sha.emplace();
      writer.Begin(&b.chunks);
      Status read = blobs.Read(b.key, {}, [&](std::string_view piece) {
        b.size += piece.size();
        if (sha) sha->Add(piece);
        return writer.Add(piece);
      });
      PARLEY_RETURN_IF_ERROR(writer.End());
      added.mark = writer.Mark();
      if (read.code() == Code::kNotFound) {  // deleted since the listing: collected
        added.dropped = true;
      } else {
        PARLEY_RETURN_IF_ERROR(read);
        if (sha && sha->Hex() != b.sha256) {
          m->skipped_blobs.push_back(b.key + ": its bytes do not match the SHA-256 of its name");
          added.dropped = true;
        }
      }
      PARLEY_RETURN_IF_ERROR(emit(queue.size() >= kMostQueuedBlobs));
    }
  }
  PARLEY_RETURN_IF_ERROR(emit(true));
  PARLEY_RETURN_IF_ERROR(writer.End(index));
  PARLEY_RETURN_IF_ERROR(writer.Finish());  // every chunk id of the index is in place
  m->blob_index.hash = TreeHash(m->blob_index.size, m->blob_index.chunks, options.key);
  return Status::Ok();
}

}  // namespace

Result<Manifest> ParseManifest(const std::string& text, const std::string& name, int64_t now_ms) {
  return FromJson(text, name, now_ms);
}

Result<Manifest> Create(const std::string& snapshot_dir, Target& target,
                        const CreateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.chunk_bytes == 0 || options.chunk_bytes > kMaxChunkBytes) {
    return Status(Code::kInvalidArgument,
                  "chunk size must be 1 to " + std::to_string(kMaxChunkBytes) + " bytes");
  }
  PARLEY_RETURN_IF_ERROR(target.CleanUp());
  Manifest m;
  m.format = options.blobs != nullptr ? kBlobIndexFormat : kManifestFormat;
  m.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  m.id = NewBackupId(m.created_ms);
  m.encrypted = options.key.has_value();
  m.messages = options.messages;
  // The newest previous backup, if readable with this key: its table files (and
  // attachments) need no reading.
  std::map<std::string, const FileEntry*> previous;
  Manifest parent;
  if (!options.full) {
    auto all = List(target, options.key);
    if (all.ok() && !all->empty() && all->back().format >= kManifestFormat) {
      parent = std::move(all->back());
      for (const auto& f : parent.files) {
        if (Immutable(f.path)) previous[f.path] = &f;
      }
    }
  }
  m.kind = options.full || parent.id.empty() ? "full" : "incremental";
  m.parent = m.kind == "full" ? "" : parent.id;

  std::vector<fs::path> paths;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(snapshot_dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) paths.push_back(it->path());
  }
  if (ec) return Status(Code::kIOError, "list " + snapshot_dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  // The calling thread reads the files in order; the writer stores their pieces on other
  // threads. On every return below, pieces still in flight are waited for (~ChunkWriter).
  ChunkWriter writer(target, options);
  m.files.reserve(paths.size());  // the writer keeps pointers to the entries' chunks
  std::string buffer(std::min<size_t>(options.chunk_bytes, 1u << 20), '\0');
  for (const fs::path& p : paths) {
    FileEntry entry;
    entry.path = fs::relative(p, snapshot_dir).string();
    entry.size = fs::file_size(p, ec);
    if (ec) return Status(Code::kIOError, "stat " + p.string() + ": " + ec.message());
    if (auto it = previous.find(entry.path);
        it != previous.end() && it->second->size == entry.size) {
      entry.hash = it->second->hash;
      entry.chunks = it->second->chunks;
      m.files.push_back(std::move(entry));
      continue;
    }
    m.files.push_back(std::move(entry));
    FileEntry& f = m.files.back();
    // As read: a file that grew is read to its end.
    PARLEY_ASSIGN_OR_RETURN(f.size, ChunkFile(p, writer, &f.chunks, buffer));
  }
  if (options.blobs != nullptr) {
    PARLEY_RETURN_IF_ERROR(ChunkBlobs(*options.blobs, target, parent, options, writer, &m));
  }
  PARLEY_RETURN_IF_ERROR(writer.Finish());
  m.new_bytes = writer.new_bytes();
  m.stored_bytes = writer.stored_bytes();
  for (FileEntry& f : m.files) {
    m.bytes += f.size;
    if (f.hash.empty()) f.hash = TreeHash(f.size, f.chunks, options.key);
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string text = ToJson(m).dump();
  if (text.size() > kMaxManifestBytes) {
    return Status(Code::kResourceExhausted,
                  "the manifest would exceed " + std::to_string(kMaxManifestBytes) + " bytes (" +
                      std::to_string(m.files.size()) + " files): use larger chunks");
  }
  PARLEY_RETURN_IF_ERROR(
      target.Put(ManifestName(m.id), Seal(text, options.key, options.zstd_level)));
  return m;
}

namespace {

Result<Manifest> LoadAt(Target& target, const std::string& id, const std::optional<Key>& key,
                        int64_t now_ms) {
  if (!BackupIdMillis(id)) {
    return Status(Code::kInvalidArgument, "bad backup id '" + id.substr(0, 80) + "'");
  }
  PARLEY_ASSIGN_OR_RETURN(bool exists, target.Exists(ManifestName(id)));
  if (!exists) return Status(Code::kNotFound, "no backup " + id + " in " + target.Describe());
  auto blob = target.Get(ManifestName(id), MaxBlobBytes(kMaxManifestBytes));
  if (!blob.ok()) {
    return Status(blob.status().code(), "manifest " + id + ": " + blob.status().message());
  }
  auto text = Open(*blob, key, kMaxManifestBytes);
  if (!text.ok()) {
    return Status(text.status().code(),
                  "manifest " + id + ": " + std::string(text.status().message()));
  }
  return FromJson(*text, id, now_ms);
}

}  // namespace

Result<Manifest> Load(Target& target, const std::string& id, const std::optional<Key>& key) {
  return LoadAt(target, id, key, WallMillis());
}

Result<std::vector<ListedBackup>> ListAll(Target& target, const std::optional<Key>& key,
                                          int64_t now_ms) {
  PARLEY_ASSIGN_OR_RETURN(auto names, target.List("manifests/"));
  std::vector<ListedBackup> out;
  for (const auto& name : names) {
    ListedBackup entry;
    entry.id = name.substr(std::string("manifests/").size());
    // One bad object must not hide the others, nor stop the listing: it is listed as
    // invalid, with the reason.
    auto m = LoadAt(target, entry.id, key, now_ms);
    if (m.ok()) {
      entry.manifest = std::move(*m);
    } else {
      entry.status = m.status();
    }
    out.push_back(std::move(entry));
  }
  // Invalid ones first (by name), then the valid ones by creation time (ids sort the same
  // way except within one millisecond): the last entry is the newest valid backup.
  std::stable_sort(out.begin(), out.end(), [](const ListedBackup& a, const ListedBackup& b) {
    if (a.status.ok() != b.status.ok()) return !a.status.ok();
    return a.status.ok() && a.manifest.created_ms < b.manifest.created_ms;
  });
  return out;
}

Result<std::vector<Manifest>> List(Target& target, const std::optional<Key>& key) {
  PARLEY_ASSIGN_OR_RETURN(auto all, ListAll(target, key, WallMillis()));
  std::vector<Manifest> out;
  for (auto& entry : all) {
    if (entry.status.ok()) out.push_back(std::move(entry.manifest));
  }
  return out;
}

namespace {

// Reads the chunks of `b` in order (each checked by ReadChunk) into `sink` (if any), then
// checks its size, hash tree and, for att/, the SHA-256 its key names: kCorruption saying
// what differs. A sink error is returned as it is.
Status ReadBlob(Target& target, const BlobEntry& b, const std::optional<Key>& key,
                const blob::Sink& sink) {
  Sha256 sha;
  uint64_t size = 0;
  for (const std::string& chunk : b.chunks) {
    PARLEY_ASSIGN_OR_RETURN(std::string plain, ReadChunk(target, chunk, key));
    size += plain.size();
    if (size > b.size) break;  // checked below
    if (!b.sha256.empty()) sha.Add(plain);
    if (sink) PARLEY_RETURN_IF_ERROR(sink(plain));
  }
  if (size != b.size || TreeHash(size, b.chunks, key) != b.hash) {
    return Status(Code::kCorruption, "object size or hash differs from the manifest");
  }
  if (!b.sha256.empty() && sha.Hex() != b.sha256) {
    return Status(Code::kCorruption, "its bytes do not match the SHA-256 of its name");
  }
  return Status::Ok();
}

// The name Verify and Restore give an attachment store's object: its place in a restored
// data directory.
std::string BlobPath(const BlobEntry& b) { return "attachments/" + b.key; }

}  // namespace

Status ForEachBlob(Target& target, const Manifest& m, const std::optional<Key>& key,
                   const std::function<Status(const BlobEntry&)>& each) {
  BlobIndexReader reader(target, m, key);
  BlobEntry b;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(bool more, reader.Next(&b));
    if (!more) return Status::Ok();
    PARLEY_RETURN_IF_ERROR(each(b));
  }
}

Result<std::vector<FileCheck>> Verify(Target& target, const std::string& id,
                                      const std::optional<Key>& key) {
  std::vector<FileCheck> out;
  PARLEY_RETURN_IF_ERROR(
      VerifyEach(target, id, key, [&](FileCheck check) { out.push_back(std::move(check)); }));
  return out;
}

Status VerifyEach(Target& target, const std::string& id, const std::optional<Key>& key,
                  const std::function<void(FileCheck)>& out) {
  PARLEY_ASSIGN_OR_RETURN(Manifest m, Load(target, id, key));
  for (const FileEntry& f : m.files) {
    FileCheck check{f.path, Status::Ok()};
    FileHasher hasher(key);
    uint64_t size = 0;
    for (const std::string& chunk : f.chunks) {
      auto plain = ReadChunk(target, chunk, key);
      if (!plain.ok()) {
        check.status = plain.status();
        break;
      }
      if (m.format == 1) hasher.Add(*plain);
      size += plain->size();
    }
    const std::string hash = m.format == 1 ? hasher.Hex() : TreeHash(size, f.chunks, key);
    if (check.status.ok() && (size != f.size || hash != f.hash)) {
      check.status = Status(Code::kCorruption, "file size or hash differs from the manifest");
    }
    out(std::move(check));
  }
  return ForEachBlob(target, m, key, [&](const BlobEntry& b) {
    out(FileCheck{BlobPath(b), ReadBlob(target, b, key, nullptr)});
    return Status::Ok();
  });
}

namespace {

// A directory descriptor, closed on scope exit.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status ErrnoStatus(const std::string& what) {
  return Status(Code::kIOError, what + ": " + std::strerror(errno));
}

// Opens (creating with 0700 if missing) directory `name` under `parent`, never following a
// symlink.
Result<Fd> OpenSubdir(int parent, const std::string& name, bool create) {
  if (create && ::mkdirat(parent, name.c_str(), kPrivateDirMode) != 0 && errno != EEXIST) {
    return ErrnoStatus("create " + name);
  }
  Fd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.fd < 0) return ErrnoStatus("open directory " + name);
  return fd;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("write " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Moves `name` from one directory to another, refusing to replace anything there.
Status MoveNoReplace(int from, int to, const std::string& name) {
  if (::renameat2(from, name.c_str(), to, name.c_str(), RENAME_NOREPLACE) == 0) {
    return Status::Ok();
  }
  if (errno != EINVAL && errno != ENOSYS) return ErrnoStatus("move " + name + " into place");
  // A file system without RENAME_NOREPLACE: check, then rename (a planted symlink at the
  // destination would be replaced, never written through).
  struct stat st {};
  if (::fstatat(to, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return Status(Code::kFailedPrecondition, name + " appeared in the restore target");
  }
  if (::renameat(from, name.c_str(), to, name.c_str()) != 0) {
    return ErrnoStatus("move " + name + " into place");
  }
  return Status::Ok();
}

// Objects up to this size are restored with one Put; larger ones in parts of at least
// kRestorePartBytes (multipart: the object appears only when completed, once every byte
// of it checked out).
constexpr uint64_t kWholeBlobBytes = 16u << 20;
constexpr uint64_t kRestorePartBytes = 8u << 20;

// Writes the object of `b` into `out`, checked (ReadBlob) before it becomes visible.
Status RestoreBlob(Target& target, const BlobEntry& b, const std::optional<Key>& key,
                   blob::BlobStore& out) {
  if (b.size <= kWholeBlobBytes) {
    std::string bytes;
    bytes.reserve(static_cast<size_t>(b.size));
    PARLEY_RETURN_IF_ERROR(ReadBlob(target, b, key, [&](std::string_view piece) {
      bytes.append(piece);
      return Status::Ok();
    }));
    return out.Put(b.key, bytes);
  }
  const uint64_t part_bytes =
      std::max<uint64_t>(kRestorePartBytes, b.size / (blob::BlobStore::kMaxParts - 1) + 1);
  PARLEY_ASSIGN_OR_RETURN(std::string upload, out.StartMultipart(b.key));
  std::vector<std::string> parts;
  std::string part;
  auto put_part = [&]() -> Status {
    PARLEY_ASSIGN_OR_RETURN(std::string done,
                            out.PutPart(b.key, upload, static_cast<int>(parts.size() + 1), part));
    parts.push_back(std::move(done));
    part.clear();
    return Status::Ok();
  };
  Status st = ReadBlob(target, b, key, [&](std::string_view piece) {
    part.append(piece);
    return part.size() >= part_bytes ? put_part() : Status::Ok();
  });
  if (st.ok() && !part.empty()) st = put_part();
  if (st.ok()) st = out.CompleteMultipart(b.key, upload, parts);
  if (!st.ok()) (void)out.AbortMultipart(b.key, upload);  // best effort: the error stays
  return st;
}

}  // namespace

Status Restore(Target& target, const std::string& id, const std::string& dir,
               const std::optional<Key>& key, const RestoreOptions& options) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Status(Code::kFailedPrecondition, "restore target " + dir + " is not empty");
  }
  // Load checked every path (relative, no ".." or empty parts), key and chunk id.
  PARLEY_ASSIGN_OR_RETURN(Manifest m, Load(target, id, key));
  const bool with_blobs = !options.skip_blobs && m.blob_count > 0;
  if (with_blobs) {  // the blob index whole, before anything is written
    Status st = ForEachBlob(target, m, key, [](const BlobEntry&) { return Status::Ok(); });
    if (!st.ok()) {
      return Status(st.code(), "backup " + id + " fails verification: " +
                                   std::string(st.message()) + "; nothing restored");
    }
  }
  if (with_blobs && options.blobs != nullptr) {
    for (const char* prefix : kBlobPrefixes) {
      PARLEY_ASSIGN_OR_RETURN(auto there, options.blobs->List(prefix));
      if (!there.empty()) {
        return Status(Code::kFailedPrecondition, "attachment store " + options.blobs->Describe() +
                                                     " is not empty (" + there.front() + ")");
      }
    }
  }
  if (with_blobs && options.blobs == nullptr) {
    for (const FileEntry& f : m.files) {
      if (f.path == "attachments" || f.path.starts_with("attachments/")) {
        return Invalid(id + ": store file " + f.path + " is where its attachments go");
      }
    }
  }
  // One pass: every chunk is checked as it is read (ReadChunk) and each file's size and
  // hash at its end, while the files are written into a staging directory inside `dir`.
  // Only when all of them check out are they moved into place; on any failure the staging
  // directory (and `dir`, if this created it) is removed, so nothing is restored.
  const bool created = !fs::exists(dir, ec);
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(dir));
  const fs::path staging = fs::path(dir) / ".restoring";
  // Everything below goes through descriptors: `dir` as the operator named it, and under
  // it nothing is followed.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  bool made_staging = false;
  auto fail = [&](Status st) {
    std::error_code ignored;
    if (made_staging) fs::remove_all(staging, ignored);  // removes a symlink, not its target
    if (created) fs::remove(dir, ignored);
    return st;
  };
  if (dir_fd.fd < 0) return fail(ErrnoStatus("open " + dir));
  if (::fchmod(dir_fd.fd, kPrivateDirMode) != 0) return fail(ErrnoStatus("chmod " + dir));
  if (::mkdirat(dir_fd.fd, ".restoring", kPrivateDirMode) != 0) {
    return fail(ErrnoStatus("create " + staging.string()));  // EEXIST: planted meanwhile
  }
  made_staging = true;
  auto staging_fd = OpenSubdir(dir_fd.fd, ".restoring", false);
  if (!staging_fd.ok()) return fail(staging_fd.status());
  auto refused = [&](const std::string& path, const Status& st) {
    return fail(Status(st.code(), "backup " + id + " fails verification at " + path + ": " +
                                      std::string(st.message()) + "; nothing restored"));
  };
  std::set<std::string> top;      // first path components, moved into place at the end
  std::set<std::string> subdirs;  // directories below `dir`, fsync'd at the end
  for (const FileEntry& f : m.files) {
    // Walk (and create) the file's directories under the staging directory.
    std::vector<std::string> parts;
    for (const auto& part : fs::path(f.path)) parts.push_back(part.string());
    top.insert(parts.front());
    Fd parent;
    int at = staging_fd->fd;
    std::string rel;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto sub = OpenSubdir(at, parts[i], true);
      if (!sub.ok()) return fail(sub.status());
      parent = std::move(*sub);
      at = parent.fd;
      rel += (rel.empty() ? "" : "/") + parts[i];
      subdirs.insert(rel);
    }
    Fd out(::openat(at, parts.back().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    kPrivateFileMode));
    if (out.fd < 0) return fail(ErrnoStatus("create " + (staging / f.path).string()));
    FileHasher hasher(key);  // format 1 only
    uint64_t size = 0;
    for (const std::string& chunk : f.chunks) {
      auto plain = ReadChunk(target, chunk, key);
      if (!plain.ok()) return refused(f.path, plain.status());
      if (m.format == 1) hasher.Add(*plain);
      size += plain->size();
      if (size > f.size) break;  // checked below
      if (Status st = WriteAll(out.fd, *plain, f.path); !st.ok()) return fail(st);
    }
    const std::string hash = m.format == 1 ? hasher.Hex() : TreeHash(size, f.chunks, key);
    if (size != f.size || hash != f.hash) {
      return refused(f.path,
                     Status(Code::kCorruption, "file size or hash differs from the manifest"));
    }
    // Durable before it is moved into place: parleyd may start on it right away.
    if (::fsync(out.fd) != 0) return fail(ErrnoStatus("fsync " + f.path));
  }
  if (with_blobs) {
    // The attachment store's objects: into a local store staged beside the files (moved
    // into place with them), or after them into the caller's.
    std::unique_ptr<blob::BlobStore> local;
    blob::BlobStore* out = options.blobs;
    if (out == nullptr) {
      auto opened = blob::OpenLocalBlobStore((staging / "attachments").string());
      if (!opened.ok()) return fail(opened.status());
      local = std::move(*opened);
      out = local.get();
      top.insert("attachments");
    }
    // The directories of a local store are fsync'd (the store syncs the files') as soon as
    // the keys have left them: keys come sorted, so those under one directory come together
    // and only the directories of the last key are open (`open_dirs`, outermost first).
    std::vector<std::string> open_dirs;
    auto sync_dirs_beyond = [&](size_t keep) -> Status {
      for (; open_dirs.size() > keep; open_dirs.pop_back()) {
        PARLEY_RETURN_IF_ERROR(SyncPath(staging / open_dirs.back(), true));
      }
      return Status::Ok();
    };
    std::string failed_at;  // the object that failed to restore, if one did
    bool io_error = false;  // syncing a directory failed
    Status st = ForEachBlob(target, m, key, [&](const BlobEntry& b) -> Status {
      if (Status restored = RestoreBlob(target, b, key, *out); !restored.ok()) {
        failed_at = BlobPath(b);
        return restored;
      }
      if (!local) return Status::Ok();
      const std::string path = BlobPath(b);
      std::vector<std::string> dirs;
      for (size_t slash = path.find('/'); slash != std::string::npos;
           slash = path.find('/', slash + 1)) {
        dirs.push_back(path.substr(0, slash));
      }
      size_t common = 0;
      while (common < dirs.size() && common < open_dirs.size() &&
             dirs[common] == open_dirs[common]) {
        ++common;
      }
      if (Status synced = sync_dirs_beyond(common); !synced.ok()) {
        io_error = true;
        return synced;
      }
      open_dirs = std::move(dirs);
      return Status::Ok();
    });
    if (st.ok()) {
      st = sync_dirs_beyond(0);
      io_error = !st.ok();
    }
    if (!st.ok() && io_error) return fail(st);
    if (!st.ok() && options.blobs != nullptr) {
      return fail(Status(st.code(), "backup " + id + ": restoring " +
                                        (failed_at.empty() ? "attachments" : failed_at) + " into " +
                                        out->Describe() + ": " + std::string(st.message()) +
                                        "; the store's files were not restored"));
    }
    if (!st.ok()) return refused(failed_at.empty() ? "attachments" : failed_at, st);
    if (local) fs::remove(staging / "attachments" / ".multipart", ec);  // if left, empty
  }
  for (const std::string& name : top) {
    if (Status st = MoveNoReplace(staging_fd->fd, dir_fd.fd, name); !st.ok()) return fail(st);
  }
  if (::unlinkat(dir_fd.fd, ".restoring", AT_REMOVEDIR) != 0) {
    return fail(ErrnoStatus("remove " + staging.string()));
  }
  made_staging = false;
  for (const std::string& sub : subdirs) {
    PARLEY_RETURN_IF_ERROR(SyncPath(fs::path(dir) / sub, true));
  }
  if (::fsync(dir_fd.fd) != 0) return ErrnoStatus("fsync " + dir);
  return Status::Ok();
}

namespace {

// A set of chunk ids, 32 bytes each (a million attachments' chunks: tens of MB).
class LiveChunks {
 public:
  void Add(const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      Id bin{};
      // Every id was checked (64 hex digits) when its manifest or index entry was read.
      if (sodium_hex2bin(bin.data(), bin.size(), id.data(), id.size(), nullptr, nullptr, nullptr) ==
          0) {
        ids_.push_back(bin);
      }
    }
    if (ids_.size() > 2 * sorted_ + 1'000'000) Seal();  // duplicates go every so often
  }
  // Sorts; Has works after it.
  void Seal() {
    std::sort(ids_.begin(), ids_.end());
    ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
    sorted_ = ids_.size();
  }
  bool Has(std::string_view hex) const {
    Id bin{};
    if (!IsHexDigest(hex) || sodium_hex2bin(bin.data(), bin.size(), hex.data(), hex.size(), nullptr,
                                            nullptr, nullptr) != 0) {
      return false;
    }
    return std::binary_search(ids_.begin(), ids_.end(), bin);
  }

 private:
  using Id = std::array<unsigned char, 32>;
  std::vector<Id> ids_;
  size_t sorted_ = 0;
};

}  // namespace

Result<size_t> Prune(Target& target, const Retention& retention, const std::optional<Key>& key,
                     int64_t now_ms) {
  if (retention.keep_last == 0 && retention.keep_days == 0) return size_t{0};
  PARLEY_ASSIGN_OR_RETURN(auto listed, ListAll(target, key, now_ms));
  for (const ListedBackup& entry : listed) {
    if (!entry.status.ok()) {
      return Status(Code::kFailedPrecondition, "pruning nothing: manifest " + entry.id +
                                                   " is not valid (" + entry.status.message() +
                                                   "); remove or fix it");
    }
  }
  std::vector<Manifest> all;  // oldest first
  for (auto& entry : listed) all.push_back(std::move(entry.manifest));
  const int64_t cutoff_ms = now_ms - retention.keep_days * 86'400'000;
  std::vector<const Manifest*> kept;
  std::vector<const Manifest*> dropped;
  for (size_t i = 0; i < all.size(); ++i) {
    const bool newest = i + 1 == all.size();
    const bool in_last = retention.keep_last > 0 && all.size() - i <= retention.keep_last;
    const bool recent = retention.keep_days > 0 && all[i].created_ms >= cutoff_ms;
    (newest || in_last || recent ? kept : dropped).push_back(&all[i]);
  }
  if (dropped.empty()) return size_t{0};
  // The chunks the kept backups use, found before anything is removed: a kept backup whose
  // blob index cannot be read stops the pruning.
  LiveChunks live;
  for (const Manifest* m : kept) {
    for (const auto& f : m->files) live.Add(f.chunks);
    live.Add(m->blob_index.chunks);
    Status st = ForEachBlob(target, *m, key, [&](const BlobEntry& b) {
      live.Add(b.chunks);
      return Status::Ok();
    });
    if (!st.ok()) {
      return Status(Code::kFailedPrecondition, "pruning nothing: backup " + m->id +
                                                   " is not valid (" + st.message() +
                                                   "); remove or fix it");
    }
  }
  live.Seal();
  for (const Manifest* m : dropped) PARLEY_RETURN_IF_ERROR(target.Remove(ManifestName(m->id)));
  PARLEY_ASSIGN_OR_RETURN(auto chunks, target.List("chunks/"));
  for (const auto& name : chunks) {
    if (!live.Has(name.substr(name.rfind('/') + 1))) PARLEY_RETURN_IF_ERROR(target.Remove(name));
  }
  return dropped.size();
}

}  // namespace parley::backup
