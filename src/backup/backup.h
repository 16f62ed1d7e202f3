// Backups of a data directory snapshot: full and incremental, content-addressed,
// compressed, optionally encrypted, verifiable, each restorable on its own.
//
// Layout on the target:
//   chunks/<id[0:2]>/<id>   a piece (up to chunk_bytes) of a store file, sealed (codec.h);
//                           <id> is the BLAKE2b content address of the plain piece
//   manifests/<backup id>   the backup's manifest (JSON), sealed the same way
// A manifest lists every file of the snapshot with its size, hash and chunk ids, so a
// backup never depends on another backup's manifest — only on chunks, which are shared.
// An incremental backup uploads only chunks the target does not hold yet; RocksDB's
// table files never change once written, so a table file already listed (same name and
// size) by the previous manifest is not even read again.
//
// The manifest is written last: a backup killed midway leaves only unreferenced chunks
// (and temporary files, removed by the next run), never a manifest pointing at nothing.
//
// Everything read from a target is distrusted until checked (a target may be writable by
// others, or damaged): objects are read only up to the size their kind allows, a manifest
// is checked whole before use — its id agrees with its name and time, chunk ids and file
// hashes are 64 lower-case hex digits, paths are relative without "..", sizes agree with
// chunk counts — and with a key, plain (unauthenticated) objects are refused. Without a
// key, backups are NOT tamper-evident: their checksums catch accidents, not forgery.
//
// Thread-safety: functions are independent; do not run two Create on one target at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backup/codec.h"
#include "backup/target.h"

namespace parley::backup {

// Bounds on what a target may hold (larger is refused as corruption, before allocating).
constexpr size_t kMaxChunkBytes = 16u << 20;     // CreateOptions::chunk_bytes at most
constexpr size_t kMaxManifestBytes = 32u << 20;  // ~470,000 chunks: ~0.9 TiB in 2 MiB chunks
// A manifest dated later than now + this is refused (not tamper-proof without a key; it
// keeps a forged date from becoming "latest" when the clock is right).
constexpr int64_t kMaxClockSkewMs = 86'400'000;

struct FileEntry {
  std::string path;  // relative to the snapshot root
  uint64_t size = 0;
  // Format 2: a hash tree of the file, BLAKE2b (keyed like chunk ids) of its size and its
  // chunk ids, each of which is the keyed BLAKE2b of its piece; so the file's every byte
  // is bound to it without hashing the file a second time. Format 1: BLAKE2b of the file.
  std::string hash;
  std::vector<std::string> chunks;
};

struct Manifest {
  int format = 2;  // of the manifest and its file hashes (FileEntry)
  std::string id;  // "20261123T101500123Z-1a2b3c": UTC time to the millisecond, then random
  int64_t created_ms = 0;
  std::string kind;    // "full" or "incremental"
  std::string parent;  // the backup an incremental was based on ("" for full)
  bool encrypted = false;
  uint64_t messages = 0;      // as reported by the caller (store statistics)
  uint64_t bytes = 0;         // size of the snapshot
  uint64_t new_bytes = 0;     // plain bytes of chunks this backup uploaded
  uint64_t stored_bytes = 0;  // their size on the target (compressed, sealed)
  double seconds = 0;
  std::vector<FileEntry> files;
};

struct CreateOptions {
  std::optional<Key> key;  // encrypt with it
  int zstd_level = 3;
  size_t chunk_bytes = 8u << 20;
  bool full = false;  // upload every chunk again (fresh copies), even if the target has it
  uint64_t messages = 0;
};

Result<Manifest> Create(const std::string& snapshot_dir, Target& target,
                        const CreateOptions& options);

// One manifest found on the target: `status` is OK and `manifest` filled, or `status`
// says why it is not a usable backup (unreadable, forged, wrong key, damaged).
struct ListedBackup {
  std::string id;  // the object's name under manifests/
  Status status;
  Manifest manifest;
};
// Every manifest on the target: the invalid ones first (by name), then the valid ones
// oldest first, so the last entry is the newest valid backup. Fails only if the target
// cannot be listed; a bad object never fails the listing. `now_ms` dates the future.
Result<std::vector<ListedBackup>> ListAll(Target& target, const std::optional<Key>& key,
                                          int64_t now_ms);
// The valid backups only, oldest first ("latest" is the last one).
Result<std::vector<Manifest>> List(Target& target, const std::optional<Key>& key);
// kInvalidArgument for an id not of the form NewBackupId makes, kNotFound, or the reason
// the manifest is not valid (as ListAll).
Result<Manifest> Load(Target& target, const std::string& id, const std::optional<Key>& key);

struct FileCheck {
  std::string path;
  Status status;
};
// Reads back every chunk of backup `id` and checks it (authenticity, hash, file hash and
// size). One entry per file; the Status is the first problem (naming the chunk), if any.
Result<std::vector<FileCheck>> Verify(Target& target, const std::string& id,
                                      const std::optional<Key>& key);

// Restores backup `id` into `dir`, which must be empty or absent (created 0700, and an
// existing one set to 0700: it is going to hold a store), checking every chunk,
// file size and file hash in the same single pass that writes the files (into `dir`/
// .restoring, moved into place and fsync'd only once everything checked out). If anything
// fails to verify, nothing is restored: the staging directory is removed, and `dir` too
// if this call created it. A restore killed midway leaves `dir`/.restoring: delete `dir`
// and run it again. Files are created 0600 with O_EXCL|O_NOFOLLOW relative to directory
// descriptors, and moved with RENAME_NOREPLACE: a symlink or file planted in `dir` while
// the restore runs is never followed or overwritten (the restore fails instead).
Status Restore(Target& target, const std::string& id, const std::string& dir,
               const std::optional<Key>& key);

// Which backups pruning keeps: a backup stays if it is among the newest `keep_last`, or
// younger than `keep_days`, or the newest of all. A rule that is 0 is off; both 0 keeps
// everything.
struct Retention {
  size_t keep_last = 0;
  int64_t keep_days = 0;
};

// Removes the manifests `retention` does not keep, then every chunk no remaining manifest
// references. Returns the number of backups removed. Refuses (kFailedPrecondition, nothing
// removed) while any manifest on the target is invalid: the chunks of a manifest it cannot
// read (another key, damage) might be in use. Must not run beside Create on the
// same target (it would delete the chunks of a backup whose manifest is not written yet).
Result<size_t> Prune(Target& target, const Retention& retention, const std::optional<Key>& key,
                     int64_t now_ms);

}  // namespace parley::backup
