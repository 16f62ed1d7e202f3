// Backups of a data directory snapshot: full and incremental, content-addressed,
// compressed, optionally encrypted, verifiable, each restorable on its own.
//
// Layout on the target:
//   chunks/<id[0:2]>/<id>   a piece (up to chunk_bytes) of a store file or of an attachment
//                           store's object, sealed (codec.h); <id> is the BLAKE2b content
//                           address of the plain piece
//   manifests/<backup id>   the backup's manifest (JSON), sealed the same way
// A manifest lists every file of the snapshot with its size, hash and chunk ids, so a
// backup never depends on another backup's manifest — only on chunks, which are shared.
// An incremental backup uploads only chunks the target does not hold yet; RocksDB's
// table files never change once written, so a table file already listed (same name and
// size) by the previous manifest is not even read again.
//
// With an attachment store (CreateOptions::blobs; keys as attach/catalog.h lays them out)
// the backup (manifest format 4) also holds its objects under att/, thumb/ and meta/ (never
// uploads/, the uploads in progress), cut into the same chunks. Their entries (BlobEntry) are
// not in the manifest but in the backup's *blob index*: JSON Lines, one entry per line,
// strictly sorted by key, itself cut into chunks like a file; the manifest holds only its
// size, hash and chunk ids (Manifest::blob_index) and the objects' count and bytes, so it
// stays small whatever the number of attachments (an entry is ~250 bytes: a million
// objects make a ~250 MB index, 30 chunk ids in the manifest with 8 MiB chunks). The index is at
// most kMaxBlobIndexBytes, an entry at most kMaxBlobIndexLineBytes; it is written and read as a
// stream (ForEachBlob), never whole. Format 3 (the entries inline in the manifest, `blobs`) is
// still read. att/ objects are content-addressed by the SHA-256 of their bytes: one the previous
// backup lists is not read again (a thumb/ one: if of the same size; meta/ ones, small and mutable,
// always are), found by a sorted merge of the previous index with the new listing; their
// SHA-256 is checked when they are read (Create), verified and restored. Objects are listed
// after the caller took its store snapshot, so every attachment a backed-up message
// references is in the listing (the collector keeps the bytes of recalled messages for days).
//
// The manifest is written last: a backup killed midway leaves only unreferenced chunks
// (and temporary files, removed by the next run), never a manifest pointing at nothing.
//
// Everything read from a target is distrusted until checked (a target may be writable by
// others, or damaged): objects are read only up to the size their kind allows, a manifest
// is checked whole before use — its id agrees with its name and time, chunk ids and file
// hashes are 64 lower-case hex digits, paths are relative without "..", sizes agree with
// chunk counts — and with a key, plain (unauthenticated) objects are refused. A blob index
// is checked as it is read, entry by entry, as strictly as the manifest (keys, hashes,
// order, sizes), and its size, count and bytes against the manifest's at its end. Without a
// key, backups are NOT tamper-evident: their checksums catch accidents, not forgery.
//
// Thread-safety: functions are independent; do not run two Create on one target at once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backup/codec.h"
#include "backup/target.h"
#include "blob/blob_store.h"

namespace parley::backup {

// Bounds on what a target may hold (larger is refused as corruption, before allocating).
constexpr size_t kMaxChunkBytes = 16u << 20;     // CreateOptions::chunk_bytes at most
constexpr size_t kMaxManifestBytes = 32u << 20;  // ~470,000 chunks: ~0.9 TiB in 2 MiB chunks
// A blob index (format 4): ~65 million attachment objects (~13 million attachments with
// their thumbnails and records); and one entry of it (~62,000 chunk ids: 60 GiB in 1 MiB
// chunks).
constexpr uint64_t kMaxBlobIndexBytes = uint64_t{16} << 30;
constexpr size_t kMaxBlobIndexLineBytes = 4u << 20;
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

// One object of an attachment store (formats 3 and 4).
struct BlobEntry {
  std::string key;  // "att/ab/cd/<sha256>", "thumb/<sha256>.webp" or "meta/…"
  uint64_t size = 0;
  std::string hash;  // the hash tree of its chunks, as FileEntry's (format 2)
  // att/ keys: the SHA-256 of the bytes (64 hex digits, the key's last part); else "".
  std::string sha256;
  std::vector<std::string> chunks;
};

// A backup's blob index (format 4): the bytes of its JSON Lines, as a FileEntry's.
struct BlobIndex {
  uint64_t size = 0;
  std::string hash;  // the hash tree of its chunks (format 2)
  std::vector<std::string> chunks;
};

struct Manifest {
  // Of the manifest and its file hashes (FileEntry): 1 whole-file hashes, 2 hash trees,
  // 3 as 2 plus the objects of an attachment store inline (`blobs`), 4 as 2 plus those
  // objects in a blob index (`blob_index`).
  int format = 2;
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
  // Formats 3 and 4: how many objects of the attachment store the backup holds, and their
  // bytes.
  uint64_t blob_count = 0;
  uint64_t blob_bytes = 0;
  BlobIndex blob_index;  // format 4 (Create makes it); its entries: ForEachBlob
  // Format 3 only: the entries inline, by key (empty for format 4: use ForEachBlob, which
  // reads either).
  std::vector<BlobEntry> blobs;
  // Create only (not stored): objects of the attachment store left out of this backup,
  // as "KEY: reason" — an att/ object whose bytes do not match its SHA-256 (damaged in the
  // store: it could never be restored), or a key not of the catalog's forms.
  std::vector<std::string> skipped_blobs;
};

// The prefixes of an attachment store that backups copy (uploads/ is left out).
inline constexpr const char* kBlobPrefixes[] = {"att/", "meta/", "thumb/"};

struct CreateOptions {
  std::optional<Key> key;  // encrypt with it
  int zstd_level = 3;
  size_t chunk_bytes = 8u << 20;
  // upload every chunk again (fresh copies), even if the target has it, and read every
  // attachment again
  bool full = false;
  uint64_t messages = 0;
  // The attachment store to back up with the snapshot (not owned; read during Create).
  // Default: null, no attachments (a format-2 manifest, as before); else format 4.
  blob::BlobStore* blobs = nullptr;
};

// Backs up `snapshot_dir` (and options.blobs). Fails on any read or write error; an
// attachment deleted between the listing and its reading is left out silently (it was
// collected), one that is damaged is left out and named in skipped_blobs.
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
// the manifest is not valid (as ListAll). The blob index is not read (ForEachBlob).
Result<Manifest> Load(Target& target, const std::string& id, const std::optional<Key>& key);
// Parses and checks the text of a manifest stored as `name` (what Load does once the text
// is read and opened): kCorruption naming the first problem. `now_ms` bounds its date.
Result<Manifest> ParseManifest(const std::string& text, const std::string& name, int64_t now_ms);

// Calls `each` with every attachment store object of backup `m` (as Load returned it), by
// key: the inline entries of format 3, or those of the format-4 blob index, read from
// `target` one chunk at a time (memory: a chunk and an entry) and each entry checked as
// strictly as the manifest's. A bad index (damaged or missing chunk, an entry that does not
// check out, out of order or twice, size, count or bytes unlike the manifest's) is
// kCorruption (or the chunk's error: kNotFound, kUnauthenticated) naming the problem, found
// where it is: `each` may have been called for the entries before it. An error of `each`
// stops the walk and is returned as it is. Formats 1 and 2: no calls.
Status ForEachBlob(Target& target, const Manifest& m, const std::optional<Key>& key,
                   const std::function<Status(const BlobEntry&)>& each);

struct FileCheck {
  std::string path;  // a store file, or "attachments/KEY" for an attachment store's object
  Status status;
};
// Reads back every chunk of backup `id` and checks it (authenticity, hash, file hash and
// size, and each att/ object's SHA-256). One entry per file, then one per attachment
// store object; the Status is the first problem (naming the chunk), if any.
Result<std::vector<FileCheck>> Verify(Target& target, const std::string& id,
                                      const std::optional<Key>& key);
// The same, each check passed to `each` as it is made instead of collected (a million
// attachment objects make a million checks). Fails (the manifest, or its blob index, is not
// valid) after the checks already passed.
Status VerifyEach(Target& target, const std::string& id, const std::optional<Key>& key,
                  const std::function<void(FileCheck)>& each);

// Restores backup `id` into `dir`, which must be empty or absent (created 0700, and an
// existing one set to 0700: it is going to hold a store), checking every chunk,
// file size and file hash in the same single pass that writes the files (into `dir`/
// .restoring, moved into place and fsync'd only once everything checked out). If anything
// fails to verify, nothing is restored: the staging directory is removed, and `dir` too
// if this call created it. A restore killed midway leaves `dir`/.restoring: delete `dir`
// and run it again. Files are created 0600 with O_EXCL|O_NOFOLLOW relative to directory
// descriptors, and moved with RENAME_NOREPLACE: a symlink or file planted in `dir` while
// the restore runs is never followed or overwritten (the restore fails instead).
//
// A manifest with attachment store objects restores them too (RestoreOptions), each
// object's size, hash and (att/) SHA-256 checked before it is written; a mismatch fails
// the restore with kCorruption naming "attachments/KEY". The blob index is read through
// once before anything is written: a bad one fails the restore with nothing restored.
struct RestoreOptions {
  // Where the objects go. Default (null): a local store in `dir`/attachments (parleyd's
  // default place for a data directory's attachments), staged and moved into place with
  // the store's files, all or nothing. Else this store (not owned), which must hold no
  // att/, meta/ or thumb/ object (kFailedPrecondition); it is written after every store
  // file checked out, and a failure midway leaves the objects already written there (each
  // one whole and checked).
  blob::BlobStore* blobs = nullptr;
  bool skip_blobs = false;  // Default: false. true: the store's files only.
};
Status Restore(Target& target, const std::string& id, const std::string& dir,
               const std::optional<Key>& key, const RestoreOptions& options = {});

// Which backups pruning keeps: a backup stays if it is among the newest `keep_last`, or
// younger than `keep_days`, or the newest of all. A rule that is 0 is off; both 0 keeps
// everything.
struct Retention {
  size_t keep_last = 0;
  int64_t keep_days = 0;
};

// Removes the manifests `retention` does not keep, then every chunk no remaining manifest
// references (its files', its blob index's and the index's objects'). Returns the number of
// backups removed. Refuses (kFailedPrecondition, nothing removed) while any manifest on the
// target, or the blob index of a backup it keeps, is invalid: the chunks of a backup it
// cannot read (another key, damage) might be in use. Must not run beside Create on the
// same target (it would delete the chunks of a backup whose manifest is not written yet).
Result<size_t> Prune(Target& target, const Retention& retention, const std::optional<Key>& key,
                     int64_t now_ms);

}  // namespace parley::backup
