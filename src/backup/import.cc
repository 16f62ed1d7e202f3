// The importer: reads an export (the lines of export_format.h) into an empty store, and
// rebuilds what an export leaves out (export.h). It reads its input twice: pass 1 checks
// every line and keeps what the rebuild needs (everything but the message bodies); pass 2
// reads the messages again and writes them, then the rest.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "backup/export.h"
#include "backup/export_format.h"
#include "common/clock.h"
#include "common/text.h"
#include "model/inbox_events.h"
#include "store/record_codec.h"

namespace parley::backup {
namespace {

// What the inbox rebuild needs of a message.
struct MessageBrief {
  uint64_t msg_id = 0;
  UserId sender = 0;
  int64_t server_ms = 0;
};

struct MemberBrief {
  UserId user = 0;
  Role role = Role::kMember;
  int64_t joined_ms = 0;
  Seq read = 0;  // read cursor, 0 if none
};

struct ConvInfo {
  ConversationRecord conv;
  ConvHead head;
  size_t line = 0;
  std::vector<MemberBrief> members;
  std::unordered_map<UserId, size_t> member_index;  // into `members`
  std::vector<MessageBrief> messages;               // messages[i] has seq i + 1
};

// A rebuilt inbox event, and its rank among events of the same millisecond: joins, then
// messages, then cursors.
struct RebuiltEvent {
  int rank;
  InboxEvent event;
};

// Time order, with ties broken so that the order never depends on the input's.
bool EarlierEvent(const RebuiltEvent& a, const RebuiltEvent& b) {
  return std::tie(a.event.ms, a.rank, a.event.gseq, a.event.conv_id, a.event.conv_seq,
                  a.event.type) < std::tie(b.event.ms, b.rank, b.event.gseq, b.event.conv_id,
                                           b.event.conv_seq, b.event.type);
}

// A member's memberships whose events are rebuilt: (conversation, the member in it).
using Memberships = std::vector<std::pair<const ConvInfo*, const MemberBrief*>>;

class Importer {
 public:
  Importer(Store& store, std::istream& in, const ImportOptions& options)
      : store_(store), in_(in), options_(options) {}

  Status Run() {
    const std::istream::pos_type start = in_.tellg();
    if (start == std::istream::pos_type(-1)) {
      return InvalidArgument("import reads its input twice: give it a file, not a pipe");
    }
    PARLEY_RETURN_IF_ERROR(CheckStoreEmpty());
    PARLEY_RETURN_IF_ERROR(Check());
    PARLEY_RETURN_IF_ERROR(CheckNoClash());

    Status st = Write(start);
    if (!st.ok()) {
      return Status(st.code(), st.message() +
                                   " (the import stopped midway and the store is incomplete: "
                                   "delete it and import again)");
    }
    return Status::Ok();
  }

  const ImportStats& stats() const { return stats_; }

 private:
  // --- pass 1: read and check everything, keep what the rebuild needs

  Status CheckStoreEmpty() {
    PARLEY_ASSIGN_OR_RETURN(Counters c, store_.LoadCounters());
    PARLEY_ASSIGN_OR_RETURN(auto changes, store_.ScanChanges(0, 1));
    if (c.last_user_id != 0 || c.last_conv_id != 0 || c.last_gseq != 0 || !changes.empty()) {
      return Status(Code::kFailedPrecondition,
                    "the store is not empty (" + std::to_string(c.last_user_id) + " users, " +
                        std::to_string(c.last_conv_id) +
                        " conversations): import needs a new data directory");
    }
    return Status::Ok();
  }

  Status Check() {
    std::string text;
    size_t line = 0;
    bool header = false;
    bool ended = false;
    while (std::getline(in_, text)) {
      ++line;
      if (IsBlankLine(text)) continue;
      if (ended) return BadLine(line, "data after the \"end\" line");
      auto parsed = ParseLine(text, line);
      if (!header) {
        PARLEY_RETURN_IF_ERROR(CheckHeader(parsed, line));
        header = true;
        continue;
      }
      if (!parsed.ok()) return parsed.status();
      ended = std::holds_alternative<EndLine>(*parsed);
      PARLEY_RETURN_IF_ERROR(CheckRecord(*parsed, line));
    }
    if (in_.bad()) return Status(Code::kIOError, "reading the import failed");
    if (!header) return InvalidArgument("empty input: not a Parley export");
    if (!ended) return BadLine(line, "the export is truncated: it has no \"end\" line");
    return CheckTotals();
  }

  // The first line must be a header of this version's format.
  static Status CheckHeader(const Result<ExportLine>& parsed, size_t line) {
    const auto* h = parsed.ok() ? std::get_if<HeaderLine>(&*parsed) : nullptr;
    if (h == nullptr) {
      return BadLine(line,
                     "not a Parley export: the first line must be the \"parley_export\" header");
    }
    if (h->format != static_cast<uint64_t>(kExportFormat)) {
      return BadLine(line, "export format " + std::to_string(h->format) +
                               " is not supported (this version reads format " +
                               std::to_string(kExportFormat) + ")");
    }
    return Status::Ok();
  }

  // Any line after the header.
  Status CheckRecord(ExportLine& parsed, size_t line) {
    return std::visit(
        [&](auto& record) -> Status {
          using T = std::decay_t<decltype(record)>;
          if constexpr (std::is_same_v<T, HeaderLine>) {
            return BadLine(line, "a second \"parley_export\" header");
          } else if constexpr (std::is_same_v<T, EndLine>) {
            return CheckEnd(record, line);
          } else {
            return Take(record, line);
          }
        },
        parsed);
  }

  bool KnownUser(UserId id) const { return users_.count(id) != 0; }

  Result<ConvInfo*> KnownConv(ConvId id, size_t line) {
    auto it = convs_.find(id);
    if (it == convs_.end()) {
      return BadLine(line, "conversation " + std::to_string(id) + " has not been defined above");
    }
    return &it->second;
  }

  Status UnknownUser(UserId id, size_t line) {
    return BadLine(line, "user " + std::to_string(id) + " has not been defined above");
  }

  Status Take(UserLine& line_record, size_t line) {
    UserRecord& u = line_record.user;
    if (KnownUser(u.id)) return BadLine(line, "user " + std::to_string(u.id) + " appears twice");
    if (u.name.empty() || NormalizeUserName(u.name) != u.name) {
      return BadLine(line, "\"" + u.name + "\" is not a valid (normalised) user name");
    }
    if (!names_.insert(u.name).second)
      return BadLine(line, "user name \"" + u.name + "\" appears twice");
    if (!u.password_hash.empty() && u.password_hash.rfind("$argon2id$", 0) != 0) {
      return BadLine(line, "password_hash must be an Argon2id hash (\"$argon2id$…\") or \"\"");
    }
    if (line_record.last_user_seq != 0) last_user_seq_[u.id] = line_record.last_user_seq;
    users_.emplace(u.id, std::move(u));
    return Status::Ok();
  }

  Status Take(BlockRecord& b, size_t line) {
    if (!KnownUser(b.blocker)) return UnknownUser(b.blocker, line);
    if (!KnownUser(b.blocked)) return UnknownUser(b.blocked, line);
    if (b.blocker == b.blocked) return BadLine(line, "a user cannot block themselves");
    if (!block_keys_.insert({b.blocker, b.blocked}).second) {
      return BadLine(line, "block of " + std::to_string(b.blocked) + " by " +
                               std::to_string(b.blocker) + " appears twice");
    }
    blocks_.push_back(b);
    return Status::Ok();
  }

  Status Take(ConvLine& c, size_t line) {
    if (convs_.count(c.conv.id)) {
      return BadLine(line, "conversation " + std::to_string(c.conv.id) + " appears twice");
    }
    if (c.conv.owner != 0 && !KnownUser(c.conv.owner)) return UnknownUser(c.conv.owner, line);
    ConvInfo& info = convs_[c.conv.id];
    info.conv = std::move(c.conv);
    info.head = c.head;
    info.line = line;
    return Status::Ok();
  }

  Status Take(MemberRecord& m, size_t line) {
    PARLEY_ASSIGN_OR_RETURN(ConvInfo * conv, KnownConv(m.conv_id, line));
    if (!KnownUser(m.user_id)) return UnknownUser(m.user_id, line);
    if (!conv->member_index.emplace(m.user_id, conv->members.size()).second) {
      return BadLine(line, "user " + std::to_string(m.user_id) + " is a member of conversation " +
                               std::to_string(m.conv_id) + " twice");
    }
    conv->members.push_back(MemberBrief{m.user_id, m.role, m.joined_ms, 0});
    ++members_;
    return Status::Ok();
  }

  Status Take(CursorLine& c, size_t line) {
    PARLEY_ASSIGN_OR_RETURN(ConvInfo * conv, KnownConv(c.conv, line));
    auto it = conv->member_index.find(c.user);
    if (it == conv->member_index.end()) {
      return BadLine(line, "read cursor of user " + std::to_string(c.user) +
                               ", who is not a member of conversation " + std::to_string(c.conv) +
                               " (members come before read cursors)");
    }
    MemberBrief& member = conv->members[it->second];
    if (member.read != 0)
      return BadLine(line, "a second read cursor for the same user and conversation");
    if (c.seq > conv->head.last_seq) {
      return BadLine(line, "read cursor " + std::to_string(c.seq) +
                               " is past the conversation's last message " +
                               std::to_string(conv->head.last_seq));
    }
    member.read = c.seq;
    ++read_cursors_;
    return Status::Ok();
  }

  Status Take(MessageRecord& m, size_t line) {
    PARLEY_ASSIGN_OR_RETURN(ConvInfo * conv, KnownConv(m.conv_id, line));
    const Seq expected = conv->messages.size() + 1;
    if (m.seq != expected) {
      return BadLine(line, "message " + std::to_string(m.seq) + " of conversation " +
                               std::to_string(m.conv_id) + " out of order: expected seq " +
                               std::to_string(expected));
    }
    if (m.seq > conv->head.last_seq) {
      return BadLine(line, "message " + std::to_string(m.seq) +
                               " is past the conversation's last_seq " +
                               std::to_string(conv->head.last_seq));
    }
    if (!KnownUser(m.sender)) return UnknownUser(m.sender, line);
    if (m.recalled) {
      if (!m.body.empty()) return BadLine(line, "a recalled message must have an empty body");
      if (m.recalled_by != 0 && !KnownUser(m.recalled_by)) return UnknownUser(m.recalled_by, line);
    } else if (m.kind == MessageKind::kText && m.body.empty()) {
      return BadLine(line, "empty text message");
    }
    conv->messages.push_back(MessageBrief{m.msg_id, m.sender, m.server_ms});
    msg_ids_.emplace_back(m.msg_id, line);
    ++messages_;
    return Status::Ok();
  }

  Status CheckEnd(const EndLine& e, size_t line) {
    auto check = [&](const char* what, uint64_t said, uint64_t got) -> Status {
      if (said == got) return Status::Ok();
      return BadLine(line, "the \"end\" line counts " + std::to_string(said) + " " + what +
                               " but the file holds " + std::to_string(got) +
                               " (a damaged export?)");
    };
    PARLEY_RETURN_IF_ERROR(check("users", e.counts.users, users_.size()));
    PARLEY_RETURN_IF_ERROR(check("conversations", e.counts.conversations, convs_.size()));
    PARLEY_RETURN_IF_ERROR(check("members", e.counts.members, members_));
    PARLEY_RETURN_IF_ERROR(check("read cursors", e.counts.read_cursors, read_cursors_));
    return check("messages", e.counts.messages, messages_);
  }

  // Whole-file checks, once everything is read.
  Status CheckTotals() {
    std::map<std::pair<UserId, UserId>, ConvId> direct_pairs;
    for (const auto& [id, conv] : convs_) PARLEY_RETURN_IF_ERROR(CheckConv(conv, &direct_pairs));
    std::sort(msg_ids_.begin(), msg_ids_.end());
    for (size_t i = 1; i < msg_ids_.size(); ++i) {
      if (msg_ids_[i].first == msg_ids_[i - 1].first) {
        return BadLine(
            std::max(msg_ids_[i].second, msg_ids_[i - 1].second),
            "msg_id " + std::to_string(msg_ids_[i].first) + " is used twice (also on line " +
                std::to_string(std::min(msg_ids_[i].second, msg_ids_[i - 1].second)) + ")");
      }
    }
    return Status::Ok();
  }

  // A conversation, complete: all its messages, the members its kind needs, one direct
  // conversation per pair of users.
  static Status CheckConv(const ConvInfo& conv,
                          std::map<std::pair<UserId, UserId>, ConvId>* direct_pairs) {
    const std::string id = std::to_string(conv.conv.id);
    if (conv.messages.size() != conv.head.last_seq) {
      return BadLine(conv.line, "conversation " + id + " has last_seq " +
                                    std::to_string(conv.head.last_seq) + " but the file holds " +
                                    std::to_string(conv.messages.size()) + " of its messages");
    }
    const bool direct = conv.conv.kind == ConvKind::kDirect;
    if (direct && conv.members.size() != 2) {
      return BadLine(conv.line, "direct conversation " + id + " has " +
                                    std::to_string(conv.members.size()) +
                                    " members (it needs exactly 2)");
    }
    if (conv.conv.hidden_from != 0 &&
        (!direct || conv.head.last_seq != 0 || !conv.member_index.count(conv.conv.hidden_from))) {
      return BadLine(conv.line, "hidden_from of conversation " + id +
                                    " needs a direct conversation without messages and one of "
                                    "its members");
    }
    if (!direct) return Status::Ok();
    const UserId a = conv.members[0].user, b = conv.members[1].user;
    auto [it, fresh] = direct_pairs->emplace(std::minmax(a, b), conv.conv.id);
    if (!fresh) {
      return BadLine(conv.line, "direct conversation " + id + " is between the same users as " +
                                    std::to_string(it->second));
    }
    return Status::Ok();
  }

  // The store was empty before the check, but make sure nothing of the file is there.
  Status CheckNoClash() {
    auto clash = [](const std::string& what) {
      return Status(Code::kFailedPrecondition,
                    "the store already holds " + what + ": import needs a new data directory");
    };
    for (const auto& [id, u] : users_) {
      auto found = store_.GetUser(id);
      if (found.ok()) return clash("user " + std::to_string(id));
      if (found.status().code() != Code::kNotFound) return found.status();
      auto named = store_.FindUserByName(u.name);
      if (named.ok()) return clash("a user named " + u.name);
      if (named.status().code() != Code::kNotFound) return named.status();
    }
    for (const auto& [id, c] : convs_) {
      auto found = store_.GetConversation(id);
      if (found.ok()) return clash("conversation " + std::to_string(id));
      if (found.status().code() != Code::kNotFound) return found.status();
    }
    return Status::Ok();
  }

  // --- pass 2: writing

  Status Write(std::istream::pos_type start) {
    for (const auto& [id, u] : users_) {
      PARLEY_RETURN_IF_ERROR(Add(op::PutUser{u}, u.password_hash.size()));
      ++stats_.users;
    }
    for (const BlockRecord& b : blocks_) PARLEY_RETURN_IF_ERROR(Add(op::PutBlock{b}, 0));
    PARLEY_RETURN_IF_ERROR(WriteMessages(start));
    PARLEY_RETURN_IF_ERROR(WriteConversations());
    PARLEY_RETURN_IF_ERROR(WriteInboxes());
    PARLEY_RETURN_IF_ERROR(WriteInboxFloors());
    batch_.Add(op::PutCounters{RebuiltCounters()});
    // The synced write makes every earlier buffered batch durable too.
    return Flush(Durability::kSync);
  }

  // The id counters, so that new sends continue every sequence.
  Counters RebuiltCounters() const {
    Counters counters;
    if (!users_.empty()) counters.last_user_id = users_.rbegin()->first;
    if (!convs_.empty()) counters.last_conv_id = convs_.rbegin()->first;
    if (!msg_ids_.empty()) counters.last_gseq = msg_ids_.back().first;  // sorted
    for (const auto& [id, conv] : convs_) {
      counters.last_gseq = std::max(counters.last_gseq, conv.head.last_gseq);
    }
    return counters;
  }

  // The messages, read again (they are the bulk), with their change-feed entries and
  // dedup records.
  Status WriteMessages(std::istream::pos_type start) {
    in_.clear();
    in_.seekg(start);
    if (!in_) return Status(Code::kIOError, "cannot read the import a second time");
    const int64_t now = NowMillis();
    std::string text;
    size_t line = 0;
    while (std::getline(in_, text)) {
      ++line;
      if (IsBlankLine(text)) continue;
      auto parsed = ParseLine(text, line);
      if (!parsed.ok()) {
        return Status(Code::kInternal,
                      "the input changed while importing: " + parsed.status().message());
      }
      auto* m = std::get_if<MessageRecord>(&*parsed);
      if (m != nullptr) PARLEY_RETURN_IF_ERROR(WriteMessage(std::move(*m), now));
    }
    if (in_.bad()) return Status(Code::kIOError, "reading the import failed");
    if (stats_.messages != messages_) {
      return Status(Code::kInternal, "the input changed while importing");
    }
    return Status::Ok();
  }

  Status WriteMessage(MessageRecord m, int64_t now) {
    const size_t bytes = m.body.size() + m.sender_device.size() + m.client_msg_id.size();
    PARLEY_RETURN_IF_ERROR(Add(
        op::PutChange{ChangeRecord{m.msg_id, ChangeKind::kMessage, m.conv_id, m.seq, m.server_ms}},
        0));
    const int64_t expires = m.server_ms + options_.dedup_ttl_ms;
    if (!m.client_msg_id.empty() && expires > now) {
      // The request digest only while the body is still the one sent; an edited or
      // recalled message leaves it empty (then only its conversation and kind are checked).
      DedupRecord dedup{m.conv_id, m.seq, m.msg_id, m.server_ms, expires, ""};
      if (!m.recalled && m.edited_ms == 0) dedup.request_digest = SendRequestDigest(m.kind, m.body);
      PARLEY_RETURN_IF_ERROR(
          Add(op::PutDedup{m.sender, m.client_msg_id, std::move(dedup)}, m.client_msg_id.size()));
    }
    PARLEY_RETURN_IF_ERROR(Add(op::PutMessage{std::move(m)}, bytes));
    ++stats_.messages;
    return Status::Ok();
  }

  Status WriteConversations() {
    for (auto& [id, info] : convs_) {
      ConversationRecord conv = info.conv;
      conv.member_count = static_cast<uint32_t>(info.members.size());
      PARLEY_RETURN_IF_ERROR(Add(op::PutConversation{conv}, conv.title.size()));
      PARLEY_RETURN_IF_ERROR(Add(op::PutConvHead{id, info.head}, 0));
      if (conv.kind == ConvKind::kDirect) {
        UserId a = info.members[0].user, b = info.members[1].user;
        PARLEY_RETURN_IF_ERROR(Add(op::PutDirectPair{std::min(a, b), std::max(a, b), id}, 0));
      }
      for (const MemberBrief& m : info.members) {
        PARLEY_RETURN_IF_ERROR(
            Add(op::PutMember{MemberRecord{id, m.user, m.role, m.joined_ms, conv.read_fanout}}, 0));
        if (m.read != 0) {
          PARLEY_RETURN_IF_ERROR(Add(op::PutReadCursor{m.user, id, m.read}, 0));
          ++stats_.read_cursors;
        }
        ++stats_.members;
      }
      ++stats_.conversations;
    }
    return Status::Ok();
  }

  // Each member's sync timeline, rebuilt in time order.
  Status WriteInboxes() {
    std::map<UserId, Memberships> memberships;
    for (const auto& [id, info] : convs_) {
      for (const MemberBrief& m : info.members) {
        // Still hidden from this member (opened by the peer, no message): no event yet,
        // and a user with nothing else counts as in no conversation (an inbox floor).
        if (info.conv.hidden_from == m.user) continue;
        memberships[m.user].emplace_back(&info, &m);
      }
    }
    std::vector<RebuiltEvent> events;
    for (const auto& [user, convs] : memberships) {
      events.clear();
      for (const auto& [info, me] : convs) RebuildConvEvents(*info, *me, &events);
      std::sort(events.begin(), events.end(), EarlierEvent);
      PARLEY_RETURN_IF_ERROR(WriteInbox(user, &events));
    }
    // Users in no conversation keep their old last user_seq as an inbox floor (below).
    for (const auto& [user, last] : last_user_seq_) {
      if (memberships.count(user)) continue;
      InboxEvent placeholder{};
      placeholder.user_id = user;
      placeholder.user_seq = last;
      placeholder.type = EventType::kMemberLeft;
      PARLEY_RETURN_IF_ERROR(Add(op::PutInboxEvent{placeholder}, 0));
      floors_.push_back(user);
    }
    return Status::Ok();
  }

  // What member `me` of `info` would have been told by the service (model/inbox_events.h):
  // the join, the messages sent since (write fan-out only), the member's read cursor and,
  // in a direct conversation, the peer's receipt.
  static void RebuildConvEvents(const ConvInfo& info, const MemberBrief& me,
                                std::vector<RebuiltEvent>* events) {
    const ConvId conv = info.conv.id;
    const auto& msgs = info.messages;
    // The messages sent since the member joined (server time never goes back along a
    // conversation, so this is a prefix/suffix split).
    const size_t joined_at =
        std::partition_point(msgs.begin(), msgs.end(),
                             [&](const MessageBrief& b) { return b.server_ms < me.joined_ms; }) -
        msgs.begin();
    InboxEvent join{};
    join.user_id = me.user;
    join.type = EventType::kMemberJoined;
    join.conv_id = conv;
    join.conv_seq = joined_at;
    // Who added the member is not exported: a group's owner, else the member themself.
    join.actor =
        info.conv.kind == ConvKind::kGroup && info.conv.owner != 0 ? info.conv.owner : me.user;
    join.subject = me.user;
    join.ms = me.joined_ms;
    events->push_back(RebuiltEvent{0, join});
    if (!info.conv.read_fanout) {
      for (size_t i = joined_at; i < msgs.size(); ++i) {
        InboxEvent e = MessageEvent(EventType::kMessage, conv, i + 1, msgs[i].sender,
                                    msgs[i].server_ms, msgs[i].msg_id);
        e.user_id = me.user;
        events->push_back(RebuiltEvent{1, e});
      }
    }
    // Not before the join: a member who left and came back keeps the old cursor.
    auto cursor_ms = [&](Seq seq) { return std::max(msgs[seq - 1].server_ms, me.joined_ms); };
    if (me.read != 0) {
      events->push_back(RebuiltEvent{2, ReadEvent(me.user, conv, me.read, cursor_ms(me.read))});
    }
    if (!HasReadReceipts(info.conv.kind)) return;
    for (const MemberBrief& peer : info.members) {
      if (peer.user == me.user || peer.read == 0) continue;
      events->push_back(
          RebuiltEvent{2, ReceiptEvent(me.user, peer.user, conv, peer.read, cursor_ms(peer.read))});
    }
  }

  // `user`'s rebuilt events, in order, after the user's last user_seq on the old server:
  // a device which kept its cursor across the move gets the rebuilt events again rather
  // than missing the new ones until the new timeline outgrows its cursor.
  Status WriteInbox(UserId user, std::vector<RebuiltEvent>* events) {
    auto old = last_user_seq_.find(user);
    Seq user_seq = old == last_user_seq_.end() ? 0 : old->second;
    for (RebuiltEvent& rebuilt : *events) {
      rebuilt.event.user_seq = ++user_seq;
      PARLEY_RETURN_IF_ERROR(Add(op::PutInboxEvent{rebuilt.event}, 0));
    }
    stats_.inbox_events += events->size();
    return Status::Ok();
  }

  // A user with no event to rebuild still continues after the old last user_seq: the
  // floor is the only record of it when the inbox is empty, and trimming writes it. The
  // placeholder event at that user_seq (WriteInboxes) gives the trim its end and goes.
  Status WriteInboxFloors() {
    if (floors_.empty()) return Status::Ok();
    PARLEY_RETURN_IF_ERROR(Flush(Durability::kBuffered));
    for (UserId user : floors_) {
      PARLEY_RETURN_IF_ERROR(store_.TrimInbox(user, last_user_seq_.at(user) + 1));
    }
    return Status::Ok();
  }

  template <typename Op>
  Status Add(Op&& op, size_t payload_bytes) {
    batch_.Add(std::forward<Op>(op));
    batch_bytes_ += payload_bytes + 48;
    if (batch_.ops.size() >= options_.batch_ops || batch_bytes_ >= (8u << 20)) {
      return Flush(Durability::kBuffered);
    }
    return Status::Ok();
  }

  Status Flush(Durability durability) {
    if (batch_.empty()) return Status::Ok();
    PARLEY_RETURN_IF_ERROR(store_.Apply(batch_, durability));
    batch_.clear();
    batch_bytes_ = 0;
    return Status::Ok();
  }

  Store& store_;
  std::istream& in_;
  const ImportOptions options_;

  std::map<UserId, UserRecord> users_;
  // The users' last user_seq on the exporting server (absent: 0): rebuilt events follow it.
  std::unordered_map<UserId, Seq> last_user_seq_;
  std::vector<UserId> floors_;  // users whose old last user_seq needs an inbox floor
  std::unordered_set<std::string> names_;
  std::vector<BlockRecord> blocks_;
  std::set<std::pair<UserId, UserId>> block_keys_;
  std::map<ConvId, ConvInfo> convs_;
  std::vector<std::pair<uint64_t, size_t>> msg_ids_;  // (msg_id, line)
  uint64_t members_ = 0;
  uint64_t read_cursors_ = 0;
  uint64_t messages_ = 0;

  WriteSet batch_;
  size_t batch_bytes_ = 0;
  ImportStats stats_;
};

}  // namespace

Status Import(Store& store, std::istream& in, ImportStats* stats, const ImportOptions& options) {
  Importer importer(store, in, options);
  Status st = importer.Run();
  if (stats != nullptr) *stats = importer.stats();
  return st;
}

}  // namespace parley::backup
