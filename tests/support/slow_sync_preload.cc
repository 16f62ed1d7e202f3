// slow_sync_preload: an LD_PRELOAD library that makes a process's file syncs slow, for
// tests of a slow disk (tests/faults_slow_sync_test.cc, docs/faults.md "Slow fsync").
//
// It wraps fsync, fdatasync and sync_file_range: each call first sleeps the delay
// in milliseconds written (as a decimal number) in the file named by PARLEY_SLOW_SYNC_FILE,
// then calls the real function (dlsym RTLD_NEXT). RocksDB syncs its WAL with fdatasync
// (fsync with use_fsync), its directories with fsync and its flushed files with
// sync_file_range (bytes_per_sync), so a delay here is what a slow disk does to it. The
// file is read again at most every 50 ms, so a test changes the delay at run time by
// rewriting it; a missing file, or 0, means no delay.
//
// Built without sanitizers (tests/CMakeLists.txt). An ASan-built process refuses preloaded
// libraries ahead of its runtime unless ASAN_OPTIONS has verify_asan_link_order=0.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace {

constexpr int64_t kRereadNanos = 50'000'000;

std::atomic<int64_t> delay_ms{0};
std::atomic<int64_t> read_at_ns{0};  // 0: never read

int64_t MonotonicNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The delay from the control file, or 0. Uses only open/read/close: nothing that syncs.
int64_t ReadDelayMs() {
  const char* path = getenv("PARLEY_SLOW_SYNC_FILE");
  if (path == nullptr || *path == '\0') return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  int64_t ms = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
    ms = ms * 10 + (buf[i] - '0');
    if (ms > 600'000) return 600'000;  // 10 minutes: a typo must not hang a test forever
  }
  return ms;
}

// Sleeps the current delay; errno is kept, as the caller's sync sets it.
void Delay() {
  const int saved_errno = errno;
  const int64_t now = MonotonicNanos();
  int64_t last = read_at_ns.load(std::memory_order_relaxed);
  // One thread re-reads at a time; the others use the value they find.
  if ((last == 0 || now - last >= kRereadNanos) &&
      read_at_ns.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    delay_ms.store(ReadDelayMs(), std::memory_order_relaxed);
  }
  const int64_t ms = delay_ms.load(std::memory_order_relaxed);
  if (ms > 0) {
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  errno = saved_errno;
}

template <typename Fn>
Fn Real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int fsync(int fd) {
  static const auto real = Real<int (*)(int)>("fsync");
  Delay();
  return real(fd);
}

int fdatasync(int fd) {
  static const auto real = Real<int (*)(int)>("fdatasync");
  Delay();
  return real(fd);
}

int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
  static const auto real = Real<int (*)(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  Delay();
  return real(fd, offset, nbytes, flags);
}

}  // extern "C"
