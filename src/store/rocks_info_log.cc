#include "store/rocks_info_log.h"

#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace parley {
namespace {

namespace fs = std::filesystem;

class TolerantFileLogger final : public rocksdb::Logger {
 public:
  explicit TolerantFileLogger(const std::string& path)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), file_(std::fopen(path.c_str(), "ae")) {}
  ~TolerantFileLogger() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (file_ == nullptr) return;
    char line[4096];
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
        1000000;
    std::tm tm{};
    localtime_r(&secs, &tm);
    int n = std::snprintf(line, sizeof(line), "%04d/%02d/%02d-%02d:%02d:%02d.%06lld ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, static_cast<long long>(micros));
    if (n < 0) return;
    const int body = std::vsnprintf(line + n, sizeof(line) - static_cast<size_t>(n), format, ap);
    if (body < 0) return;
    n = std::min<int>(n + body, static_cast<int>(sizeof(line)) - 2);
    line[n++] = '\n';
    std::lock_guard<std::mutex> lock(mu_);
    // A failed write (no space) is dropped; the stream is usable again for the next line.
    if (std::fwrite(line, 1, static_cast<size_t>(n), file_) != static_cast<size_t>(n) ||
        std::fflush(file_) != 0) {
      std::clearerr(file_);
    }
  }

 private:
  std::mutex mu_;
  std::FILE* file_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> OpenRocksInfoLog(const std::string& dir, size_t keep_old) {
  const fs::path log = fs::path(dir) / "LOG";
  std::error_code ec;
  if (fs::file_size(log, ec) > 0 && !ec) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    fs::rename(log, fs::path(dir) / ("LOG.old." + std::to_string(micros)), ec);
  }
  std::vector<fs::path> old;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().starts_with("LOG.old.")) old.push_back(e.path());
  }
  std::sort(old.begin(), old.end());  // same-length microsecond stamps: oldest first
  for (size_t i = 0; i + keep_old < old.size(); ++i) fs::remove(old[i], ec);
  return std::make_shared<TolerantFileLogger>(log.string());
}

}  // namespace parley
