#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "format.h"

namespace parley::cli {
namespace {

constexpr uint64_t kMinBytes = 1 << 20;
constexpr int kBarWidth = 24;

}  // namespace

ProgressLine::ProgressLine(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled && ::isatty(STDERR_FILENO)) {}

void ProgressLine::Update(uint64_t done, uint64_t total) {
  if (!enabled_ || total < kMinBytes) return;
  done = std::min(done, total);
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const int percent = static_cast<int>(done * 100 / total);
  const int filled = static_cast<int>(done * kBarWidth / total);
  const std::string bar = std::string(filled, '#') + std::string(kBarWidth - filled, '.');
  // \r and "erase to the end of the line": a shorter line leaves no tail of the last one.
  std::fputs(fmt::format("\r{} {:3}% [{}] {} / {}\x1b[K", label_, percent, bar, HumanBytes(done),
                         HumanBytes(total))
                 .c_str(),
             stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Finish() {
  if (!drawn_) return;
  std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace parley::cli
