// CheckpointSource: a capability only an embedded storage engine has — writing a consistent,
// openable copy of its files into a local directory while writes continue. Online backups
// (backup/backup_service.h) are built on it. It is not part of Store: a store served by a
// database server (PostgreSQL, say) has no files of its own to copy and is backed up by that
// server's tools; such a store simply offers no CheckpointSource, and a node built on it
// has no online backup.
//
// Thread-safety: Checkpoint may be called from any thread while the store is in use.
#pragma once

#include <string>

#include "common/status.h"

namespace parley {

class CheckpointSource {
 public:
  virtual ~CheckpointSource() = default;

  // Writes a consistent, openable copy of the store into `dir` (which must not exist, and
  // should be on the store's file system: immutable files are hard-linked where possible).
  // kIOError if the engine cannot.
  virtual Status Checkpoint(const std::string& dir) = 0;
};

}  // namespace parley
