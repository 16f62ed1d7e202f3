// The local BlobStore: one file per object under the root, written through AtomicFile.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

#include "blob/blob_store.h"
#include "common/crypto.h"
#include "common/files.h"

namespace parley::blob {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMultipartDir = ".multipart";
// AtomicFile's temporary files: ".NAME.tmp-RANDOM".
constexpr std::string_view kTempMark = ".tmp-";
constexpr size_t kReadChunk = 256 * 1024;

Status Errno(const std::string& what) {
  return Status(Code::kIOError, what + ": " + std::strerror(errno));
}

// An open regular file (never through a symlink, never blocking on a FIFO), closed on
// destruction.
class OpenFile {
 public:
  static Result<OpenFile> Open(const std::string& path, const std::string& key) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status(Code::kNotFound, "no object " + key);
      if (errno == ELOOP) return Status(Code::kCorruption, key + " is a symlink: refused");
      return Errno("open " + path);
    }
    OpenFile f(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Errno("stat " + path);
    if (!S_ISREG(st.st_mode)) return Status(Code::kCorruption, key + " is not a regular file");
    f.size_ = static_cast<uint64_t>(st.st_size);
    return f;
  }
  OpenFile(OpenFile&& o) noexcept : fd_(std::exchange(o.fd_, -1)), size_(o.size_) {}
  ~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }

 private:
  explicit OpenFile(int fd) : fd_(fd) {}
  int fd_;
  uint64_t size_ = 0;
};

// Sends [offset, offset + length) of `f` to `sink`.
Status Stream(const OpenFile& f, uint64_t offset, uint64_t length, const Sink& sink,
              const std::string& key) {
  std::string buf(
      static_cast<size_t>(std::min<uint64_t>(kReadChunk, std::max<uint64_t>(length, 1))), '\0');
  uint64_t done = 0;
  while (done < length) {  // bounded: each pass reads at least one byte or returns
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - done));
    const ssize_t n = ::pread(f.fd(), buf.data(), want, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read " + key);
    if (n == 0) return Status(Code::kCorruption, key + " shrank while it was read");
    PARLEY_RETURN_IF_ERROR(sink(std::string_view(buf.data(), static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(fs::path root) : root_(std::move(root)) {}

  std::string Describe() const override { return root_.string(); }

  Status Put(const std::string& key, std::string_view data) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    const fs::path path = root_ / key;
    PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(path.parent_path().string()));
    return WriteFileAtomically(path.string(), data);
  }

  Result<std::string> Get(const std::string& key, ByteRange range, size_t max_bytes) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    PARLEY_ASSIGN_OR_RETURN(OpenFile f, OpenFile::Open((root_ / key).string(), key));
    PARLEY_ASSIGN_OR_RETURN(uint64_t length, Clip(f, range, key));
    if (length > max_bytes) {
      return Status(Code::kCorruption, key + " is " + std::to_string(length) +
                                           " bytes, over the limit of " +
                                           std::to_string(max_bytes));
    }
    std::string out;
    out.reserve(static_cast<size_t>(length));
    auto append = [&](std::string_view piece) {
      out.append(piece);
      return Status::Ok();
    };
    PARLEY_RETURN_IF_ERROR(Stream(f, range.offset, length, append, key));
    return out;
  }

  Status Read(const std::string& key, ByteRange range, const Sink& sink) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    PARLEY_ASSIGN_OR_RETURN(OpenFile f, OpenFile::Open((root_ / key).string(), key));
    PARLEY_ASSIGN_OR_RETURN(uint64_t length, Clip(f, range, key));
    return Stream(f, range.offset, length, sink, key);
  }

  Result<std::optional<BlobInfo>> Head(const std::string& key) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    auto f = OpenFile::Open((root_ / key).string(), key);
    if (f.status().code() == Code::kNotFound) return std::optional<BlobInfo>();
    PARLEY_RETURN_IF_ERROR(f.status());
    return std::optional<BlobInfo>(BlobInfo{f->size()});
  }

  Status Delete(const std::string& key) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    if (::unlink((root_ / key).c_str()) != 0 && errno != ENOENT) return Errno("delete " + key);
    return Status::Ok();
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> out;
    std::error_code ec;
    const fs::path base = root_ / fs::path(prefix).parent_path();
    if (!fs::exists(base, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      const std::string leaf = it->path().filename().string();
      if (!leaf.empty() && leaf.front() == '.') {
        if (it->is_directory()) it.disable_recursion_pending();  // .multipart
        continue;                                                // temporary files
      }
      if (!it->is_regular_file()) continue;
      std::string key = fs::relative(it->path(), root_).string();
      if (key.rfind(prefix, 0) == 0) out.push_back(std::move(key));
    }
    if (ec) return Status(Code::kIOError, "list " + base.string() + ": " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::string> StartMultipart(const std::string& key) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    const std::string upload = RandomHex(16);
    PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(UploadDir(upload).string()));
    return upload;
  }

  // Parts sent in order (what UploadManager does) are appended to one assembly file, so
  // that completing is a rename rather than a second copy of every byte; a part sent
  // again right after (a retry whose answer was lost) replaces the last one. Any other
  // order falls back to a file per part, joined by copying at completion.
  Result<std::string> PutPart(const std::string& key, const std::string& upload, int part,
                              std::string_view data) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    PARLEY_RETURN_IF_ERROR(CheckUpload(upload));
    if (part < 1 || part > kMaxParts) return InvalidArgument("part numbers are 1 to 10000");
    std::lock_guard<std::mutex> lock(UploadLock(upload));
    const fs::path dir = UploadDir(upload);
    PARLEY_ASSIGN_OR_RETURN(std::vector<uint64_t> sizes, ReadAssembly(dir));
    const size_t appended = sizes.size();
    const bool in_order = static_cast<size_t>(part) == appended + 1 ||
                          (static_cast<size_t>(part) == appended && appended > 0);
    std::error_code ec;
    if (in_order && !fs::exists(dir / std::to_string(part), ec)) {
      sizes.resize(static_cast<size_t>(part) - 1);
      uint64_t at = 0;
      for (uint64_t size : sizes) at += size;
      PARLEY_RETURN_IF_ERROR(WriteAt(dir / kAssembly, at, data));
      sizes.push_back(data.size());
      PARLEY_RETURN_IF_ERROR(WriteAssembly(dir, sizes));
    } else {
      PARLEY_RETURN_IF_ERROR(WriteFileAtomically((dir / std::to_string(part)).string(), data));
    }
    return std::to_string(part) + ":" + std::to_string(data.size());
  }

  Status CompleteMultipart(const std::string& key, const std::string& upload,
                           const std::vector<std::string>& parts) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    PARLEY_RETURN_IF_ERROR(CheckUpload(upload));
    if (parts.empty()) return InvalidArgument("a multipart upload needs at least one part");
    std::lock_guard<std::mutex> lock(UploadLock(upload));
    const fs::path dir = UploadDir(upload);
    PARLEY_ASSIGN_OR_RETURN(std::vector<uint64_t> sizes, ReadAssembly(dir));
    // Where each part is: a range of the assembly file, or (offset kOwnFile) its own file.
    constexpr uint64_t kOwnFile = UINT64_MAX;
    std::vector<std::pair<uint64_t, uint64_t>> spans;  // offset, size
    bool all_assembled = sizes.size() == parts.size();
    uint64_t at = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string name = std::to_string(i + 1);
      std::error_code ec;
      if (fs::exists(dir / name, ec)) {
        PARLEY_ASSIGN_OR_RETURN(OpenFile f, OpenFile::Open((dir / name).string(), "part " + name));
        spans.emplace_back(kOwnFile, f.size());
        all_assembled = false;
      } else if (i < sizes.size()) {
        spans.emplace_back(at, sizes[i]);
      } else {
        return InvalidArgument("part " + name + " was never sent");
      }
      if (i < sizes.size()) at += sizes[i];
      const uint64_t size = spans.back().second;
      if (parts[i] != name + ":" + std::to_string(size)) {
        return InvalidArgument("part " + name + " is not the one listed (" + parts[i] + ")");
      }
      if (i + 1 < parts.size() && size < kMinPartBytes) {
        return InvalidArgument("part " + name + " is smaller than 5 MiB and not the last");
      }
    }
    const fs::path path = root_ / key;
    PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(path.parent_path().string()));
    if (all_assembled) {
      // Every part is in the assembly file, in order, each synced when it arrived.
      if (::truncate((dir / kAssembly).c_str(), static_cast<off_t>(at)) != 0) {
        return Errno("truncate the assembly of " + key);
      }
      if (::rename((dir / kAssembly).c_str(), path.c_str()) != 0) return Errno("rename " + key);
      PARLEY_RETURN_IF_ERROR(FsyncPath(path.parent_path().string(), true));
      return AbortMultipart(key, upload);  // removes what is left of the upload
    }
    PARLEY_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path.string()));
    auto write = [&](std::string_view piece) { return out.Write(piece); };
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto [offset, size] = spans[i];
      const std::string file = offset == kOwnFile ? std::to_string(i + 1) : kAssembly;
      PARLEY_ASSIGN_OR_RETURN(OpenFile f, OpenFile::Open((dir / file).string(), "part " + file));
      PARLEY_RETURN_IF_ERROR(Stream(f, offset == kOwnFile ? 0 : offset, size, write, key));
    }
    PARLEY_RETURN_IF_ERROR(out.Commit());
    return AbortMultipart(key, upload);  // removes the parts
  }

  Status AbortMultipart(const std::string& key, const std::string& upload) override {
    PARLEY_RETURN_IF_ERROR(CheckKey(key));
    PARLEY_RETURN_IF_ERROR(CheckUpload(upload));
    std::error_code ec;
    fs::remove_all(UploadDir(upload), ec);
    return ec ? Status(Code::kIOError, "remove upload " + upload + ": " + ec.message())
              : Status::Ok();
  }

  std::optional<std::string> PresignGet(const std::string&, std::chrono::seconds, std::string_view,
                                        std::string_view) const override {
    return std::nullopt;
  }

  Status CleanUp() override {
    std::error_code ec;
    std::vector<fs::path> stale;
    for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->path().filename().string().find(kTempMark) != std::string::npos) {
        stale.push_back(it->path());
      }
    }
    for (const auto& p : stale) fs::remove(p, ec);
    return Status::Ok();
  }

 private:
  static constexpr const char* kAssembly = "assembly";
  static constexpr const char* kAssemblyIndex = "assembly.parts";

  std::mutex& UploadLock(const std::string& upload) {
    return upload_locks_[std::hash<std::string>{}(upload) % upload_locks_.size()];
  }

  // The sizes of the parts appended to the assembly file, in order (no index: none).
  static Result<std::vector<uint64_t>> ReadAssembly(const fs::path& dir) {
    std::vector<uint64_t> sizes;
    auto f = OpenFile::Open((dir / kAssemblyIndex).string(), "assembly index");
    if (f.status().code() == Code::kNotFound) return sizes;
    PARLEY_RETURN_IF_ERROR(f.status());
    if (f->size() > 256 * 1024) return Status(Code::kCorruption, "assembly index is too large");
    std::string text;
    PARLEY_RETURN_IF_ERROR(Stream(
        *f, 0, f->size(),
        [&](std::string_view piece) {
          text.append(piece);
          return Status::Ok();
        },
        "assembly index"));
    size_t start = 0;
    while (start < text.size()) {  // bounded: each pass consumes a line
      const size_t end = text.find('\n', start);
      if (end == std::string::npos) return Status(Code::kCorruption, "assembly index is cut");
      uint64_t size = 0;
      auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + end, size);
      if (ec != std::errc() || ptr != text.data() + end) {
        return Status(Code::kCorruption, "assembly index holds a bad size");
      }
      sizes.push_back(size);
      start = end + 1;
    }
    return sizes;
  }

  static Status WriteAssembly(const fs::path& dir, const std::vector<uint64_t>& sizes) {
    std::string text;
    for (uint64_t size : sizes) text += std::to_string(size) + "\n";
    return WriteFileAtomically((dir / kAssemblyIndex).string(), text);
  }

  // Writes `data` at `offset` of `path` (created 0600), cut there first (a crash may have
  // left the bytes of an unrecorded part after it), then syncs the data.
  static Status WriteAt(const fs::path& path, uint64_t offset, std::string_view data) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("open " + path.string());
    Status st = Status::Ok();
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) st = Errno("truncate " + path.string());
    size_t done = 0;
    while (st.ok() && done < data.size()) {  // bounded: each pass writes or fails
      const ssize_t n =
          ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        st = Errno("write " + path.string());
      } else {
        done += static_cast<size_t>(n);
      }
    }
    if (st.ok() && ::fdatasync(fd) != 0) st = Errno("sync " + path.string());
    ::close(fd);
    return st;
  }

  // How many bytes of `range` the file holds; kInvalidArgument past its end.

  static Result<uint64_t> Clip(const OpenFile& f, ByteRange range, const std::string& key) {
    if (range.offset > f.size() || (range.offset == f.size() && f.size() > 0)) {
      return Status(Code::kInvalidArgument, "range starts past the end of " + key);
    }
    const uint64_t rest = f.size() - range.offset;
    return range.length > 0 ? std::min(rest, range.length) : rest;
  }
  fs::path UploadDir(const std::string& upload) const { return root_ / kMultipartDir / upload; }
  // Upload ids are ours (32 hex digits): anything else never becomes a path.
  static Status CheckUpload(const std::string& upload) {
    if (upload.size() != 32 || !std::all_of(upload.begin(), upload.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c));
        })) {
      return Status(Code::kNotFound, "no upload '" + upload + "'");
    }
    return Status::Ok();
  }

  std::array<std::mutex, 16> upload_locks_;  // one writer per multipart upload
  const fs::path root_;
};

}  // namespace

Status CheckKey(const std::string& key) {
  PARLEY_RETURN_IF_ERROR(CheckObjectName(key));
  // Parts starting with '.' are the local store's own (temporary files, .multipart).
  if (key.front() == '.' || key.find("/.") != std::string::npos) {
    return InvalidArgument("not an object key: '" + key + "'");
  }
  return Status::Ok();
}

Result<std::unique_ptr<BlobStore>> OpenLocalBlobStore(const std::string& dir) {
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(dir));
  return std::unique_ptr<BlobStore>(std::make_unique<LocalBlobStore>(dir));
}

}  // namespace parley::blob
