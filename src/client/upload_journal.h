// UploadJournal: the uploads a client started and has not completed, one small JSON file
// each (`<dir>/<sha256>.json`: upload id, server, conversation, path, size), so that a
// process that died mid-upload continues from the server's offset instead of from byte 0.
// An entry is written right after the upload is created and deleted after `complete`.
//
// Thread-safety: free functions; two processes uploading the same bytes to the same
// directory at once may replace each other's entry (the loser starts a new upload).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "model/records.h"

namespace parley::client {

struct UploadJournalEntry {
  std::string upload_id;
  std::string server;  // the http(s) base URL the upload belongs to
  ConvId conv = 0;
  std::string path;  // the file, as given (for people reading the directory)
  uint64_t size = 0;
};

// The entry for `sha256` in `dir`, nullopt if none (or unreadable: a lost entry only costs
// a fresh upload).
std::optional<UploadJournalEntry> LoadUploadEntry(const std::string& dir,
                                                  const std::string& sha256);
// Writes it atomically (0600; `dir` created 0700).
Status SaveUploadEntry(const std::string& dir, const std::string& sha256,
                       const UploadJournalEntry& entry);
// Removes it; a missing file is fine.
void RemoveUploadEntry(const std::string& dir, const std::string& sha256);

}  // namespace parley::client
