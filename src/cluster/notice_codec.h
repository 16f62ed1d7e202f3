// The wire form of a commit hint: a CommitNotice (its inbox events, messages and
// read-fan-out head moves) plus the name of the node that committed it, as published on
// `parley:inbox:<shard>`. Other nodes decode it and push it to their local sessions.
//
// A hint is only a shortcut — devices pull after their cursor — so decoding trusts
// nothing: every count is bounded by the bytes left, the total size by kMaxHintBytes, and
// anything malformed fails with kCorruption (the caller drops and counts it).
//
// Layout (common/codec.h varints; events and messages reuse store/record_codec.h):
//   u8 format (1) | bytes origin_node | varint committed_gseq
//   varint n_events   × (varint user_id, varint user_seq, bytes EncodeInboxEvent)
//   varint n_messages × (varint conv_id, varint seq, bytes EncodeMessage)
//   varint n_heads    × (varint conv_id, varint last_seq, svarint last_ms, varint gseq,
//                        varint n_members × varint user_id)
// Origins (the local session ids of the senders) are not sent: they mean nothing on
// another node. `tasks` and `committed_at` are local measurements and stay behind too.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "service/commit_notice.h"

namespace parley::cluster {

// Hints above this size are not decoded (a publisher never sends one: see EncodeHint).
inline constexpr size_t kMaxHintBytes = size_t{8} << 20;

struct Hint {
  std::string origin_node;
  CommitNotice notice;  // origins empty (= none), tasks 0, committed_at unset
};

// Appends the hint of `notice` committed on `origin_node` to `out`.
void EncodeHint(std::string_view origin_node, const CommitNotice& notice, std::string* out);

// kCorruption on anything malformed, truncated, oversized or followed by extra bytes.
Result<Hint> DecodeHint(std::string_view in);

}  // namespace parley::cluster
