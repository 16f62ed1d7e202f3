#include "common/files.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace parley {
namespace {

namespace fs = std::filesystem;

Status Errno(Code code, const std::string& what) {
  return Status(code, what + ": " + std::strerror(errno));
}

std::string DirOf(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

Status CheckSecretFile(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Errno(Code::kNotFound, "cannot read " + std::string(what) + " " + path);
  }
  if ((st.st_mode & 0027) != 0) {
    return Status(Code::kPermissionDenied,
                  std::string(what) + " " + path + " has mode " + Octal(st.st_mode) +
                      ": it must not be readable or writable by other users (nor writable by "
                      "its group); run: chmod 600 " +
                      path);
  }
  return Status::Ok();
}

Status CheckObjectName(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find('\0') != std::string::npos) {
    return Status(Code::kInvalidArgument, "not an object name: '" + name + "'");
  }
  size_t start = 0;
  while (start <= name.size()) {  // bounded: start grows past each '/'
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string_view part(name.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return Status(Code::kInvalidArgument, "not an object name: '" + name + "'");
    }
    start = end + 1;
  }
  return Status::Ok();
}

Status CreatePrivateDirs(const std::string& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return Status::Ok();
  const fs::path p(dir);
  if (p.has_parent_path() && p.parent_path() != p) {
    PARLEY_RETURN_IF_ERROR(CreatePrivateDirs(p.parent_path().string()));
  }
  if (::mkdir(dir.c_str(), kPrivateDirMode) != 0 && errno != EEXIST) {
    return Errno(Code::kIOError, "cannot create " + dir);
  }
  if (!fs::is_directory(dir, ec)) return Status(Code::kIOError, dir + " is not a directory");
  return Status::Ok();
}

Result<size_t> MakeTreePrivate(const std::string& dir) {
  size_t changed = 0;
  auto tighten = [&changed](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    if ((st.st_mode & 0077) == 0) return;
    if (::chmod(p.c_str(), st.st_mode & 07700) == 0) ++changed;
  };
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status(Code::kNotFound, "no directory " + dir);
  tighten(dir);
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    tighten(it->path());
  }
  if (ec) return Status(Code::kIOError, "cannot list " + dir + ": " + ec.message());
  return changed;
}

Status FsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Errno(Code::kIOError, "cannot open " + path + " for fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno(Code::kIOError, "cannot fsync " + path);
}

Result<AtomicFile> AtomicFile::Create(const std::string& path, mode_t mode) {
  const fs::path p(path);
  if (p.filename().empty()) return Status(Code::kInvalidArgument, "not a file name: " + path);
  // A random name: another process cannot predict it, and O_EXCL|O_NOFOLLOW refuse a
  // planted file or symlink should it guess one.
  for (int attempt = 0; attempt < 8; ++attempt) {
    unsigned char random[8];
    randombytes_buf(random, sizeof(random));
    char hex[sizeof(random) * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), random, sizeof(random));
    const std::string temp =
        (fs::path(DirOf(path)) / ("." + p.filename().string() + ".tmp-" + hex)).string();
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) {
      // Exactly `mode`, whatever the umask.
      if (::fchmod(fd, mode) != 0) {
        Status st = Errno(Code::kIOError, "cannot chmod " + temp);
        ::close(fd);
        ::unlink(temp.c_str());
        return st;
      }
      return AtomicFile(path, temp, fd);
    }
    if (errno != EEXIST) return Errno(Code::kIOError, "cannot create " + temp);
  }
  return Status(Code::kIOError, "cannot create a temporary file beside " + path);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)), temp_(std::move(other.temp_)), fd_(other.fd_) {
  other.fd_ = -1;
  other.temp_.clear();
}

AtomicFile::~AtomicFile() { Abandon(); }

void AtomicFile::Abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
}

Status AtomicFile::Write(std::string_view data) {
  if (fd_ < 0) return Status(Code::kFailedPrecondition, "file already closed: " + path_);
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno(Code::kIOError, "cannot write " + temp_);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status AtomicFile::Commit() {
  if (fd_ < 0) return Status(Code::kFailedPrecondition, "file already closed: " + path_);
  Status st = Status::Ok();
  if (::fsync(fd_) != 0) st = Errno(Code::kIOError, "cannot fsync " + temp_);
  if (::close(fd_) != 0 && st.ok()) st = Errno(Code::kIOError, "cannot close " + temp_);
  fd_ = -1;
  // rename() replaces whatever is at `path_` (a symlink included) and never writes
  // through it.
  if (st.ok() && ::rename(temp_.c_str(), path_.c_str()) != 0) {
    st = Errno(Code::kIOError, "cannot rename " + temp_ + " to " + path_);
  }
  if (!st.ok()) {
    Abandon();
    return st;
  }
  temp_.clear();
  return FsyncPath(DirOf(path_), true);
}

Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode) {
  PARLEY_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path, mode));
  PARLEY_RETURN_IF_ERROR(file.Write(data));
  return file.Commit();
}

}  // namespace parley
