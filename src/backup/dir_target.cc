#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup/target.h"

namespace parley::backup {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempMark = ".tmp-";

Status IoError(const std::string& what, const std::error_code& ec) {
  return Status(Code::kIOError, what + ": " + ec.message());
}

class DirTarget final : public Target {
 public:
  explicit DirTarget(fs::path root) : root_(std::move(root)) {}

  std::string Describe() const override { return root_.string(); }

  Status Put(const std::string& name, std::string_view data) override {
    const fs::path final_path = root_ / name;
    std::error_code ec;
    fs::create_directories(final_path.parent_path(), ec);
    if (ec) return IoError("create " + final_path.parent_path().string(), ec);
    const fs::path tmp =
        final_path.string() + std::string(kTempMark) + std::to_string(randombytes_random());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!out.flush()) return Status(Code::kIOError, "write " + tmp.string());
    }
    PARLEY_RETURN_IF_ERROR(SyncPath(tmp, false));
    fs::rename(tmp, final_path, ec);
    if (ec) return IoError("rename into " + final_path.string(), ec);
    return SyncPath(final_path.parent_path(), true);
  }

  Result<std::string> Get(const std::string& name) override {
    std::ifstream in(root_ / name, std::ios::binary);
    if (!in) return Status(Code::kNotFound, "missing from the backup target: " + name);
    std::stringstream data;
    data << in.rdbuf();
    return data.str();
  }

  Result<bool> Exists(const std::string& name) override {
    std::error_code ec;
    bool exists = fs::exists(root_ / name, ec);
    if (ec) return IoError("stat " + name, ec);
    return exists;
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
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("create backup directory " + dir, ec);
  if (!fs::is_directory(dir)) return Status(Code::kInvalidArgument, dir + " is not a directory");
  return std::unique_ptr<Target>(new DirTarget(dir));
}

Status SyncPath(const std::filesystem::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Status(Code::kIOError, "open " + p.string() + " for fsync");
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status(Code::kIOError, "fsync " + p.string());
}

}  // namespace parley::backup
