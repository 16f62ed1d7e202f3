#include "store/rocks_recovery.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace parley {
namespace {

bool IsNoSpace(const rocksdb::Status& s) {
  return s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit;
}

const char* ReasonName(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush:
    case rocksdb::BackgroundErrorReason::kFlushNoWAL:
      return "a flush";
    case rocksdb::BackgroundErrorReason::kCompaction:
      return "a compaction";
    case rocksdb::BackgroundErrorReason::kWriteCallback:
      return "a write";
    case rocksdb::BackgroundErrorReason::kMemTable:
      return "a memtable insert";
    case rocksdb::BackgroundErrorReason::kManifestWrite:
    case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL:
      return "a manifest write";
  }
  return "background work";
}

}  // namespace

RocksRecovery::~RocksRecovery() { Stop(); }

void RocksRecovery::Attach(rocksdb::DB* db) {
  std::lock_guard<std::mutex> lock(mu_);
  db_ = db;
  thread_ = std::thread([this] { Run(); });
}

void RocksRecovery::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status RocksRecovery::WriteFailed(const rocksdb::Status& s) {
  if (IsNoSpace(s)) {
    NoteNoSpace("a write");
  } else if (!refusing_.load(std::memory_order_relaxed)) {
    return Status(s.IsCorruption() ? Code::kCorruption : Code::kIOError, s.ToString());
  }
  // Nothing of the write was stored: the client may retry it as it was.
  return Status(Code::kUnavailable,
                "storage full, nothing was stored (writes resume by themselves once space is "
                "freed): " +
                    s.ToString());
}

RocksStoreHealth RocksRecovery::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  RocksStoreHealth h = health_;
  h.refusing_writes = refusing_.load(std::memory_order_relaxed);
  return h;
}

void RocksRecovery::OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                                      rocksdb::Status* bg_error) {
  if (IsNoSpace(*bg_error)) {
    NoteNoSpace(ReasonName(reason));
    return;
  }
  spdlog::error(
      "store: {} failed and the store stopped taking writes: {} (not resumed "
      "automatically: check the disk, then restart parleyd)",
      ReasonName(reason), bg_error->ToString());
}

void RocksRecovery::OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                                         rocksdb::Status bg_error, bool* auto_recovery) {
  if (IsNoSpace(bg_error)) *auto_recovery = false;
}

void RocksRecovery::NoteNoSpace(const std::string& what) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++health_.no_space_errors;
    ++no_space_events_;
    if (!armed_) {
      armed_ = true;
      first = true;
      stopped_at_ = std::chrono::steady_clock::now();
      refusing_.store(true, std::memory_order_relaxed);
    }
  }
  if (first) {
    spdlog::error(
        "store: no space left on the data directory's disk ({} failed); writes are refused "
        "with `unavailable` until space is freed, reads go on",
        what);
    wake_.notify_all();
  }
}

void RocksRecovery::Run() {
  // Backoff between Resume() attempts: each one tries to flush the memtables, which is
  // pointless work while the disk is still full.
  constexpr auto kFirstWait = std::chrono::milliseconds(100);
  constexpr auto kLongestWait = std::chrono::milliseconds(2000);
  auto wait = kFirstWait;
  int attempts = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || armed_; });
    if (stop_) return;
    wake_.wait_for(lock, wait, [&] { return stop_; });
    if (stop_) return;
    const uint64_t events_before = no_space_events_;
    lock.unlock();
    // OK when the store runs again (also when RocksDB's own recovery got there first);
    // Busy while that recovery is in progress; else the reason it cannot resume yet.
    const rocksdb::Status resumed = db_->Resume();
    ++attempts;
    lock.lock();
    if (resumed.ok() && no_space_events_ != events_before) {
      // Another no-space error came in meanwhile (a write racing the Resume): check again,
      // rather than call the store healthy while it may be stopped.
      wait = kFirstWait;
      continue;
    }
    if (!resumed.ok()) {
      // Once in a while (every ~30 s at the longest backoff) say why.
      if (attempts % 16 == 1) {
        spdlog::warn("store: cannot resume writing yet ({} attempts): {}", attempts,
                     resumed.ToString());
      }
      wait = std::min(kLongestWait, wait * 2);
      continue;
    }
    const auto stopped_for = std::chrono::steady_clock::now() - stopped_at_;
    armed_ = false;
    refusing_.store(false, std::memory_order_relaxed);
    ++health_.resumes;
    health_.last_stop_millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(stopped_for).count();
    spdlog::warn("store: writes resumed after {} ms without space ({} attempts)",
                 health_.last_stop_millis, attempts);
    wait = kFirstWait;
    attempts = 0;
  }
}

}  // namespace parley
