#include "backup/backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/files.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestFormat = 2;  // 1: whole-file hashes (still read)

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
  return {{"format", m.format},         {"id", m.id},
          {"created_ms", m.created_ms}, {"kind", m.kind},
          {"parent", m.parent},         {"encrypted", m.encrypted},
          {"messages", m.messages},     {"bytes", m.bytes},
          {"new_bytes", m.new_bytes},   {"stored_bytes", m.stored_bytes},
          {"seconds", m.seconds},       {"files", files}};
}

// Parses and checks a manifest stored as `name` (its id): every id, hash, path, size and
// count is checked here, once, so that no later step builds a path from a forged id or
// sizes anything by a forged count. kCorruption naming the first problem.
Result<Manifest> FromJson(const std::string& text, const std::string& name, int64_t now_ms) {
  Manifest m;
  try {
    json j = ParseBounded(text);
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
    // Every chunk holds 1 to kMaxChunkBytes bytes.
    if (f.chunks.size() > f.size || f.size > f.chunks.size() * kMaxChunkBytes) {
      return Invalid(name + ": size of " + f.path + " does not fit its chunk count");
    }
    if (f.size > UINT64_MAX - total) return Invalid(name + ": sizes overflow");
    total += f.size;
  }
  if (total != m.bytes) return Invalid(name + ": file sizes do not add up to its size");
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
  if (options.chunk_bytes == 0 || options.chunk_bytes > kMaxChunkBytes) {
    return Status(Code::kInvalidArgument,
                  "chunk size must be 1 to " + std::to_string(kMaxChunkBytes) + " bytes");
  }
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
  const std::string text = ToJson(m).dump();
  if (text.size() > kMaxManifestBytes) {
    return Status(Code::kResourceExhausted, "the manifest would exceed " +
                                                std::to_string(kMaxManifestBytes) +
                                                " bytes: use larger chunks");
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

}  // namespace

Status Restore(Target& target, const std::string& id, const std::string& dir,
               const std::optional<Key>& key) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Status(Code::kFailedPrecondition, "restore target " + dir + " is not empty");
  }
  // Load checked every path (relative, no ".." or empty parts) and chunk id.
  PARLEY_ASSIGN_OR_RETURN(Manifest m, Load(target, id, key));
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
