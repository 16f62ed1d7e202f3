#include "cluster/notice_codec.h"

#include <memory>

#include "common/codec.h"
#include "store/record_codec.h"

namespace parley::cluster {
namespace {

constexpr uint8_t kFormat = 1;

Status Malformed(const char* what) {
  return Status(Code::kCorruption, std::string("hint: ") + what);
}

// A count read from `r` that cannot exceed the bytes left (each item takes at least one),
// so a forged count cannot make us reserve memory the input does not back.
bool ReadCount(Reader& r, uint64_t* n) {
  *n = r.Varint();
  return r.ok() && *n <= r.rest().size();
}

}  // namespace

void EncodeHint(std::string_view origin_node, const CommitNotice& notice, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Bytes(origin_node);
  w.Varint(notice.committed_gseq);
  std::string value;
  w.Varint(notice.events.size());
  for (const InboxEvent& e : notice.events) {
    w.Varint(e.user_id);
    w.Varint(e.user_seq);
    value.clear();
    EncodeInboxEvent(e, &value);
    w.Bytes(value);
  }
  w.Varint(notice.messages.size());
  for (const MessageRecord& m : notice.messages) {
    w.Varint(m.conv_id);
    w.Varint(m.seq);
    value.clear();
    EncodeMessage(m, &value);
    w.Bytes(value);
  }
  size_t heads = 0;
  for (const HeadMoved& h : notice.head_moves) heads += h.members != nullptr;
  w.Varint(heads);
  for (const HeadMoved& h : notice.head_moves) {
    if (h.members == nullptr) continue;  // nobody to tell
    w.Varint(h.conv_id);
    w.Varint(h.last_seq);
    w.SignedVarint(h.last_ms);
    w.Varint(h.gseq);
    w.Varint(h.members->size());
    for (UserId u : *h.members) w.Varint(u);
  }
}

Result<Hint> DecodeHint(std::string_view in) {
  if (in.size() > kMaxHintBytes) return Malformed("too large");
  Reader r(in);
  if (r.U8() != kFormat || !r.ok()) return Malformed("unknown format");
  Hint hint;
  hint.origin_node = std::string(r.Bytes());
  hint.notice.committed_gseq = r.Varint();
  uint64_t n = 0;
  if (!ReadCount(r, &n)) return Malformed("event count");
  hint.notice.events.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const UserId user = r.Varint();
    const Seq user_seq = r.Varint();
    const std::string_view value = r.Bytes();
    if (!r.ok()) return Malformed("event");
    auto e = DecodeInboxEvent(value, user, user_seq);
    if (!e.ok()) return Malformed("event value");
    hint.notice.events.push_back(*e);
  }
  if (!ReadCount(r, &n)) return Malformed("message count");
  hint.notice.messages.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const ConvId conv = r.Varint();
    const Seq seq = r.Varint();
    const std::string_view value = r.Bytes();
    if (!r.ok()) return Malformed("message");
    auto m = DecodeMessage(value, conv, seq);
    if (!m.ok()) return Malformed("message value");
    hint.notice.messages.push_back(std::move(*m));
  }
  if (!ReadCount(r, &n)) return Malformed("head count");
  hint.notice.head_moves.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    HeadMoved h;
    h.conv_id = r.Varint();
    h.last_seq = r.Varint();
    h.last_ms = r.SignedVarint();
    h.gseq = r.Varint();
    uint64_t members = 0;
    if (!ReadCount(r, &members)) return Malformed("member count");
    auto list = std::make_shared<std::vector<UserId>>();
    list->reserve(members);
    for (uint64_t j = 0; j < members; ++j) list->push_back(r.Varint());
    if (!r.ok()) return Malformed("members");
    h.members = std::move(list);
    hint.notice.head_moves.push_back(std::move(h));
  }
  if (!r.done()) return Malformed("trailing bytes");
  return hint;
}

}  // namespace parley::cluster
