// RocksDB's diagnostic log (DATA/LOG), written so that a full disk cannot end the process.
//
// RocksDB's own info logger keeps a file writer that, once a write to it has failed (ENOSPC),
// trips an assertion on its next line, and Debian's librocksdb 7.8 is built with assertions
// on: the first two lines logged on a full disk abort parleyd. This logger writes each line
// with stdio and ignores failures (a lost diagnostic line is the lesser harm). Like RocksDB's,
// it moves the previous LOG aside at open (LOG.old.MICROS) and keeps the newest few.
//
// Thread-safety: Logv may be called from any thread (RocksDB's background threads).
#pragma once

#include <rocksdb/env.h>

#include <memory>
#include <string>

namespace parley {

// The logger for DB `dir` (which must exist), keeping `keep_old` previous logs.
std::shared_ptr<rocksdb::Logger> OpenRocksInfoLog(const std::string& dir, size_t keep_old);

}  // namespace parley
