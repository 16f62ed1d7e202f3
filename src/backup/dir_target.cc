#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "backup/target.h"
#include "common/files.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;

// Temporary objects of the directory target: AtomicFile names them ".NAME.tmp-RANDOM".
constexpr std::string_view kTempMark = ".tmp-";

Status IoError(const std::string& what, const std::error_code& ec) {
  return Status(Code::kIOError, what + ": " + ec.message());
}

class DirTarget final : public Target {
 public:
  explicit DirTarget(fs::path root) : root_(std::move(root)) {}

  std::string Describe() const override { return root_.string(); }

  Status Put(const std::string& name, std::string_view data) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    const fs::path final_path = root_ / name;
    PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(final_path.parent_path().string()));
    return WriteFileAtomically(final_path.string(), data);
  }

  Result<std::string> Get(const std::string& name, size_t max_bytes) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    const std::string path = (root_ / name).string();
    // O_NOFOLLOW: a symlink planted in the target is not followed; O_NONBLOCK: a FIFO
    // does not block the open (it is refused below, as is anything but a regular file).
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT)
        return Status(Code::kNotFound, "missing from the backup target: " + name);
      if (errno == ELOOP) return Status(Code::kCorruption, name + " is a symlink: refused");
      return Status(Code::kIOError, "cannot open " + path + ": " + std::strerror(errno));
    }
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      return Status(Code::kIOError, "cannot stat " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return Status(Code::kCorruption, name + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      return Status(Code::kCorruption, name + " is " + std::to_string(st.st_size) +
                                           " bytes, over the limit of " +
                                           std::to_string(max_bytes));
    }
    std::string data(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < data.size()) {  // bounded: each read consumes or ends the loop
      const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status(Code::kIOError, "cannot read " + path + ": " + std::strerror(errno));
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    data.resize(done);  // a file that shrank meanwhile reads as truncated
    return data;
  }

  Result<bool> Exists(const std::string& name) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    std::error_code ec;
    const auto status = fs::symlink_status(root_ / name, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) return IoError("stat " + name, ec);
    return fs::exists(status);
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> out;
    std::error_code ec;
    const fs::path base = root_ / fs::path(prefix).parent_path();
    if (!fs::exists(base, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::string name = fs::relative(it->path(), root_).string();
      if (name.rfind(prefix, 0) == 0 && name.find(kTempMark) == std::string::npos) {
        out.push_back(std::move(name));
      }
    }
    if (ec) return IoError("list " + base.string(), ec);
    std::sort(out.begin(), out.end());
    return out;
  }

  Status Remove(const std::string& name) override {
    PARLEY_RETURN_IF_ERROR(CheckObjectName(name));
    std::error_code ec;
    fs::remove(root_ / name, ec);
    return ec ? IoError("remove " + name, ec) : Status::Ok();
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
  const fs::path root_;
};

}  // namespace

Result<std::unique_ptr<Target>> OpenDirTarget(const std::string& dir) {
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(dir));
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status(Code::kInvalidArgument, dir + " is not a directory");
  return std::unique_ptr<Target>(new DirTarget(dir));
}

Status SyncPath(const std::filesystem::path& p, bool directory) {
  return FsyncPath(p.string(), directory);
}

}  // namespace parley::backup
