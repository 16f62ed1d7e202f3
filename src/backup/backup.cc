#include "backup/backup.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace parley::backup {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestFormat = 2;  // 1: whole-file hashes (still read)

std::string ChunkName(const std::string& id) { return "chunks/" + id.substr(0, 2) + "/" + id; }
std::string ManifestName(const std::string& id) { return "manifests/" + id; }

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
  return {{"format", m.format},         {"id", m.id},
          {"created_ms", m.created_ms}, {"kind", m.kind},
          {"parent", m.parent},         {"encrypted", m.encrypted},
          {"messages", m.messages},     {"bytes", m.bytes},
          {"new_bytes", m.new_bytes},   {"stored_bytes", m.stored_bytes},
          {"seconds", m.seconds},       {"files", files}};
}

Result<Manifest> FromJson(const std::string& text) {
  try {
    json j = json::parse(text);
    Manifest m;
    m.format = j.at("format").get<int>();
    if (m.format != 1 && m.format != kManifestFormat) {
      return Status(Code::kCorruption, "manifest of an unknown format");
    }
    m.id = j.at("id").get<std::string>();
    m.created_ms = j.at("created_ms").get<int64_t>();
    m.kind = j.at("kind").get<std::string>();
    m.parent = j.at("parent").get<std::string>();
    m.encrypted = j.at("encrypted").get<bool>();
    m.messages = j.at("messages").get<uint64_t>();
    m.bytes = j.at("bytes").get<uint64_t>();
    m.new_bytes = j.at("new_bytes").get<uint64_t>();
    m.stored_bytes = j.at("stored_bytes").get<uint64_t>();
    m.seconds = j.at("seconds").get<double>();
    for (const auto& f : j.at("files")) {
      m.files.push_back(FileEntry{f.at("path").get<std::string>(), f.at("size").get<uint64_t>(),
                                  f.at("hash").get<std::string>(),
                                  f.at("chunks").get<std::vector<std::string>>()});
    }
    return m;
  } catch (const std::exception& e) {
    return Status(Code::kCorruption, std::string("manifest does not parse: ") + e.what());
  }
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
  auto blob = target.Get(ChunkName(id));
  if (!blob.ok()) return blob.status();
  auto plain = Open(*blob, key);
  if (!plain.ok()) {
    return Status(plain.status().code(),
                  "chunk " + id + ": " + std::string(plain.status().message()));
  }
  if (ContentId(*plain, key) != id) {
    return Status(Code::kCorruption, "chunk " + id + ": content does not match its id");
  }
  return plain;
}

// One piece of a file, named, and stored unless the target has it (or `full`).
struct StoredPiece {
  Status status = Status::Ok();
  std::string id;
  uint64_t new_bytes = 0;
  uint64_t stored_bytes = 0;
};

// Blobs at least this large are written one at a time (see Create).
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

}  // namespace

Result<Manifest> Create(const std::string& snapshot_dir, Target& target,
                        const CreateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PARLEY_RETURN_IF_ERROR(target.CleanUp());
  Manifest m;
  m.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  m.id = NewBackupId(m.created_ms);
  m.encrypted = options.key.has_value();
  m.messages = options.messages;
  // The newest previous backup, if readable with this key: its table files need no reading.
  std::map<std::string, const FileEntry*> previous;
  Manifest parent;
  if (!options.full) {
    auto all = List(target, options.key);
    if (all.ok() && !all->empty() && all->back().format == kManifestFormat) {
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
  // The calling thread reads the files in order; their pieces are
  // named, sealed and stored on other threads (across file boundaries, so that small files
  // do not wait for each other's fsyncs), and their ids collected back in order.
  const uint64_t bytes_in_flight = PiecesInFlight() * options.chunk_bytes;
  // Pieces are sealed in parallel, but large ones written one at a time: the device queue
  // then holds at most about one chunk of backup writes ahead of the live store's own
  // (whose commits wait for their fsyncs), and one writer keeps up with the sealing.
  std::mutex writing;  // declared before `pending`, whose futures outlive nothing they use
  struct Pending {
    size_t file;  // index in m.files
    uint64_t bytes;
    std::future<StoredPiece> piece;
  };
  std::deque<Pending> pending;
  uint64_t pending_bytes = 0;
  Status failed = Status::Ok();
  auto collect_one = [&] {
    Pending p = std::move(pending.front());
    pending.pop_front();
    pending_bytes -= p.bytes;
    const size_t file = p.file;
    StoredPiece done = p.piece.get();
    if (!done.status.ok()) {
      if (failed.ok()) failed = done.status;
      return;
    }
    m.new_bytes += done.new_bytes;
    m.stored_bytes += done.stored_bytes;
    m.files[file].chunks.push_back(std::move(done.id));
  };
  // On every return below, pieces still in flight are waited for by their futures.
  for (const fs::path& p : paths) {
    FileEntry entry;
    entry.path = fs::relative(p, snapshot_dir).string();
    entry.size = fs::file_size(p, ec);
    if (ec) return Status(Code::kIOError, "stat " + p.string() + ": " + ec.message());
    m.bytes += entry.size;
    if (auto it = previous.find(entry.path);
        it != previous.end() && it->second->size == entry.size) {
      entry.hash = it->second->hash;
      entry.chunks = it->second->chunks;
      m.files.push_back(std::move(entry));
      continue;
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) return Status(Code::kIOError, "read " + p.string());
    const size_t file = m.files.size();
    m.files.push_back(std::move(entry));
    uint64_t left = m.files[file].size;  // as listed; a file that grew is read to its end
    for (;;) {                           // ends at end of file: every read consumes or fails
      std::string piece(std::clamp<uint64_t>(left, 1, options.chunk_bytes), '\0');
      in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
      const auto n = static_cast<size_t>(in.gcount());
      if (n == 0) break;
      piece.resize(n);
      left -= std::min<uint64_t>(left, n);
      while (!pending.empty() &&
             (pending_bytes + n > bytes_in_flight || pending.size() >= kMostPiecesInFlight)) {
        collect_one();
      }
      PARLEY_RETURN_IF_ERROR(failed);
      pending_bytes += n;
      pending.push_back(Pending{
          file, n,
          std::async(std::launch::async, [&target, &options, &writing, piece = std::move(piece)] {
            return StorePiece(target, piece, options, writing);
          })});
    }
    if (in.bad()) return Status(Code::kIOError, "read " + p.string());
  }
  while (!pending.empty()) collect_one();
  PARLEY_RETURN_IF_ERROR(failed);
  for (FileEntry& f : m.files) {
    if (f.hash.empty()) f.hash = TreeHash(f.size, f.chunks, options.key);
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PARLEY_RETURN_IF_ERROR(
      target.Put(ManifestName(m.id), Seal(ToJson(m).dump(), options.key, options.zstd_level)));
  return m;
}

Result<Manifest> Load(Target& target, const std::string& id, const std::optional<Key>& key) {
  if (id.empty() || id.find('/') != std::string::npos || id.find("..") != std::string::npos) {
    return Status(Code::kInvalidArgument, "bad backup id '" + id + "'");
  }
  PARLEY_ASSIGN_OR_RETURN(bool exists, target.Exists(ManifestName(id)));
  if (!exists) return Status(Code::kNotFound, "no backup " + id + " in " + target.Describe());
  PARLEY_ASSIGN_OR_RETURN(std::string blob, target.Get(ManifestName(id)));
  auto text = Open(blob, key);
  if (!text.ok()) {
    return Status(text.status().code(),
                  "manifest " + id + ": " + std::string(text.status().message()));
  }
  return FromJson(*text);
}

Result<std::vector<Manifest>> List(Target& target, const std::optional<Key>& key) {
  PARLEY_ASSIGN_OR_RETURN(auto names, target.List("manifests/"));
  std::vector<Manifest> out;
  for (const auto& name : names) {
    PARLEY_ASSIGN_OR_RETURN(Manifest m,
                            Load(target, name.substr(std::string("manifests/").size()), key));
    out.push_back(std::move(m));
  }
  // By creation time (ids sort the same way except within one millisecond).
  std::stable_sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) {
    return a.created_ms < b.created_ms;
  });
  return out;
}

Result<std::vector<FileCheck>> Verify(Target& target, const std::string& id,
                                      const std::optional<Key>& key) {
  PARLEY_ASSIGN_OR_RETURN(Manifest m, Load(target, id, key));
  std::vector<FileCheck> out;
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
    out.push_back(std::move(check));
  }
  return out;
}

Status Restore(Target& target, const std::string& id, const std::string& dir,
               const std::optional<Key>& key) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Status(Code::kFailedPrecondition, "restore target " + dir + " is not empty");
  }
  PARLEY_ASSIGN_OR_RETURN(Manifest m, Load(target, id, key));
  for (const FileEntry& f : m.files) {
    const fs::path rel(f.path);
    if (f.path.empty() || f.path.find("..") != std::string::npos || rel.is_absolute()) {
      return Status(Code::kCorruption, "manifest names a path outside the target: " + f.path);
    }
  }
  // One pass: every chunk is checked as it is read (ReadChunk) and each file's size and
  // hash at its end, while the files are written into a staging directory inside `dir`.
  // Only when all of them check out are they moved into place; on any failure the staging
  // directory (and `dir`, if this created it) is removed, so nothing is restored.
  const bool created = !fs::exists(dir, ec);
  const fs::path staging = fs::path(dir) / ".restoring";
  fs::create_directories(staging, ec);
  if (ec) return Status(Code::kIOError, "create " + staging.string() + ": " + ec.message());
  auto fail = [&](Status st) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    if (created) fs::remove(dir, ignored);
    return st;
  };
  auto refused = [&](const std::string& path, const Status& st) {
    return fail(Status(st.code(), "backup " + id + " fails verification at " + path + ": " +
                                      std::string(st.message()) + "; nothing restored"));
  };
  for (const FileEntry& f : m.files) {
    const fs::path out_path = staging / f.path;
    fs::create_directories(out_path.parent_path(), ec);
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    FileHasher hasher(key);  // format 1 only
    uint64_t size = 0;
    for (const std::string& chunk : f.chunks) {
      auto plain = ReadChunk(target, chunk, key);
      if (!plain.ok()) return refused(f.path, plain.status());
      if (m.format == 1) hasher.Add(*plain);
      size += plain->size();
      out.write(plain->data(), static_cast<std::streamsize>(plain->size()));
    }
    const std::string hash = m.format == 1 ? hasher.Hex() : TreeHash(size, f.chunks, key);
    if (size != f.size || hash != f.hash) {
      return refused(f.path,
                     Status(Code::kCorruption, "file size or hash differs from the manifest"));
    }
    out.close();
    if (!out) return fail(Status(Code::kIOError, "write " + out_path.string()));
    // Durable before it is moved into place: parleyd may start on it right away.
    if (Status st = SyncPath(out_path, false); !st.ok()) return fail(st);
  }
  std::vector<fs::path> top;
  for (const auto& e : fs::directory_iterator(staging, ec)) top.push_back(e.path());
  if (ec) return fail(Status(Code::kIOError, "list " + staging.string() + ": " + ec.message()));
  for (const fs::path& p : top) {
    fs::rename(p, fs::path(dir) / p.filename(), ec);
    if (ec) return fail(Status(Code::kIOError, "move " + p.string() + ": " + ec.message()));
  }
  fs::remove(staging, ec);
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_directory()) PARLEY_RETURN_IF_ERROR(SyncPath(e.path(), true));
  }
  return SyncPath(dir, true);
}

Result<size_t> Prune(Target& target, const Retention& retention, const std::optional<Key>& key,
                     int64_t now_ms) {
  if (retention.keep_last == 0 && retention.keep_days == 0) return size_t{0};
  PARLEY_ASSIGN_OR_RETURN(auto all, List(target, key));  // oldest first
  const int64_t cutoff_ms = now_ms - retention.keep_days * 86'400'000;
  std::vector<const Manifest*> kept;
  size_t dropped = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const bool newest = i + 1 == all.size();
    const bool in_last = retention.keep_last > 0 && all.size() - i <= retention.keep_last;
    const bool recent = retention.keep_days > 0 && all[i].created_ms >= cutoff_ms;
    if (newest || in_last || recent) {
      kept.push_back(&all[i]);
      continue;
    }
    PARLEY_RETURN_IF_ERROR(target.Remove(ManifestName(all[i].id)));
    ++dropped;
  }
  if (dropped == 0) return size_t{0};
  std::set<std::string> live;
  for (const Manifest* m : kept) {
    for (const auto& f : m->files) live.insert(f.chunks.begin(), f.chunks.end());
  }
  PARLEY_ASSIGN_OR_RETURN(auto chunks, target.List("chunks/"));
  for (const auto& name : chunks) {
    if (!live.count(name.substr(name.rfind('/') + 1))) PARLEY_RETURN_IF_ERROR(target.Remove(name));
  }
  return dropped;
}

}  // namespace parley::backup
