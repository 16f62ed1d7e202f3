// ServiceConfig: every limit and switch of the message core, with its default.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/crypto.h"
#include "store/write_set.h"

namespace parley {

// Who may create an account with the `register` op (admins always can, over HTTP).
enum class RegistrationPolicy : uint8_t {
  kOpen,    // anyone
  kInvite,  // only with a valid invite token (`parley admin invite`)
  kClosed,  // nobody
};

struct ServiceConfig {
  // Largest message body in bytes (text or custom JSON). Default: 32 KiB.
  size_t max_message_bytes = 32 * 1024;
  // Longest client_msg_id / device id in characters. Default: 64.
  size_t max_client_id_chars = 64;
  // Longest group title in bytes. Default: 256.
  size_t max_title_bytes = 256;
  // Groups with more members than this switch to read fan-out (no per-message inbox
  // event; sync reports the conversation head instead). Default: 1000.
  size_t read_fanout_threshold = 1000;
  // Most members a group may have. Default: 10,000.
  size_t max_group_members = 10000;
  // How long a sender may recall their own message. Default: 2 minutes.
  int64_t recall_window_ms = 2 * 60 * 1000;
  // How long a sender may edit their own text message; 0 turns editing off. Default: 1 day.
  int64_t edit_window_ms = 24LL * 3600 * 1000;
  // How long a client_msg_id is remembered for idempotent retries. Default: 7 days.
  int64_t dedup_ttl_ms = 7LL * 24 * 3600 * 1000;
  // kSync: fsync before acknowledging (survives power loss). kBuffered: survives only a
  // process crash. Default: kSync.
  Durability durability = Durability::kSync;
  // Most requests the sequencer folds into one commit. Default: 8192.
  size_t max_batch = 8192;
  // Most requests that may wait for the sequencer ([storage] max_queued_writes). A slow
  // disk makes batches grow; past this bound new requests fail at once with kUnavailable
  // (the client retries after retry_after_ms) rather than pile up in memory, until half of
  // the queue has been taken into batches. Default: 65,536 (8 full batches).
  size_t max_queued_writes = 65536;
  // Sync page size: default and maximum. Defaults: 100 and 1000.
  size_t sync_default_limit = 100;
  size_t sync_max_limit = 1000;
  // History page size: default and maximum. Defaults: 50 and 200.
  size_t history_default_limit = 50;
  size_t history_max_limit = 200;
  // Sequencer caches are dropped when they grow past these sizes. Defaults: 100k / 1M.
  size_t conv_cache_max = 100000;
  size_t user_cache_max = 1000000;
  // Password hashing cost for new accounts. kMinimum only for tests and benchmarks.
  PasswordCost password_cost = PasswordCost::kInteractive;
  // Who may register. Default: kOpen (a fresh `make run` needs it).
  RegistrationPolicy registration = RegistrationPolicy::kOpen;
  // A login token unused for this long expires ([accounts] token_ttl_days); each use
  // (auth, requests of a live session) slides it. 0 = tokens never expire. Default: 30 days.
  int64_t token_ttl_ms = 30LL * 24 * 3600 * 1000;
  // How long a node trusts a token check it cached ([accounts] token_cache_ms). Local
  // revocations drop the entry at once and other nodes' arrive over Redis; this bounds a
  // revocation whose hint was lost (Redis down). 0 = read the store on every resume.
  // Default: 30 s.
  int64_t token_cache_ms = 30000;
};

}  // namespace parley
