// RocksRecovery: how the embedded store lives through a full disk without an operator.
//
// When a write-ahead-log append fails for lack of space (ENOSPC), RocksDB 7.8 enters a
// background-error state: every later write fails at once until DB::Resume() flushes the
// memtables and starts a new log. Flushes and compactions that run out of space stop the
// same way, and RocksDB only recovers from those by itself with an SstFileManager polling
// the free space. Nothing acknowledged is at risk in that state (a failed log append never
// reaches the memtable, and reads keep working), but without a Resume the server would
// refuse every send until restarted.
//
// RocksRecovery is the store's EventListener: it notes no-space errors (from a failed
// write or a background job), turns off RocksDB's own recovery for them (see
// OnErrorRecoveryBegin), and runs a thread that calls Resume() on a bounded backoff
// (100 ms doubling to 2 s) until it succeeds, i.e. until space was freed. Meanwhile
// failed writes are reported as kUnavailable ("storage full"), which clients retry with
// the same client_msg_id. Other background errors (a damaged file, EIO) are only logged:
// they need someone to look.
//
// Thread-safety: all methods are thread-safe; the RocksDB callbacks come from its
// background threads and its writers.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "store/rocks_store.h"

namespace parley {

class RocksRecovery : public rocksdb::EventListener {
 public:
  RocksRecovery() = default;
  ~RocksRecovery() override;  // Stops.

  // Starts the recovery thread on the opened `db` (which must outlive Stop()).
  void Attach(rocksdb::DB* db);
  // Joins the thread; call before closing the DB.
  void Stop();

  // The Status of a failed write: no space (or any failure while stopped for lack of
  // space) is kUnavailable and arms the recovery; anything else keeps its engine code.
  Status WriteFailed(const rocksdb::Status& s);

  RocksStoreHealth health() const;

  // rocksdb::EventListener (called without the DB mutex held).
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* bg_error) override;
  // Turns RocksDB's own recovery off for no-space errors: its SstFileManager waits for
  // as much free space as a whole memtable (64 MiB) before it even tries, and makes every
  // DB::Resume() meanwhile answer Busy; Resume() itself needs only room for what the
  // memtables hold.
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason, rocksdb::Status bg_error,
                            bool* auto_recovery) override;

 private:
  void NoteNoSpace(const std::string& what);
  void Run();

  rocksdb::DB* db_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool armed_ = false;            // a no-space stop waits for Resume()
  uint64_t no_space_events_ = 0;  // to tell whether one came in during a Resume()
  std::chrono::steady_clock::time_point stopped_at_{};
  RocksStoreHealth health_{};
  std::atomic<bool> refusing_{false};  // health_.refusing_writes, read without the lock
  std::thread thread_;
};

}  // namespace parley
