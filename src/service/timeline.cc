#include "service/timeline.h"

#include <algorithm>
#include <unordered_set>

#include "service/membership.h"

namespace parley {

namespace {

// Whether sync shows `e` to a user who is not a member of e.conv_id now: only their own
// joins and departures, so that a device learns it was in the conversation and left it.
bool ShownToNonMember(const InboxEvent& e) {
  return (e.type == EventType::kMemberJoined || e.type == EventType::kMemberLeft) &&
         e.subject == e.user_id;
}

// The stand-in for an event sync withholds: the user_seq stays (clients see no gap), the
// conversation and time stay (the user was in it then), the rest goes.
InboxEvent Withheld(const InboxEvent& e) {
  InboxEvent w{};
  w.user_id = e.user_id;
  w.user_seq = e.user_seq;
  w.type = EventType::kWithheld;
  w.conv_id = e.conv_id;
  w.ms = e.ms;
  w.gseq = e.gseq;
  return w;
}

}  // namespace

Result<SyncReply> TimelineService::Sync(const Identity& who, const SyncRequest& req) {
  SyncReply reply;
  size_t limit =
      req.limit == 0 ? config_.sync_default_limit : std::min(req.limit, config_.sync_max_limit);
  // Read the watermark before the heads: anything committed later is reported next time.
  reply.heads_next = sequencer_->committed_gseq();

  PARLEY_ASSIGN_OR_RETURN(Seq floor, store_->InboxFloor(who.user_id));
  if (req.since + 1 < floor) {
    reply.reset = true;
    PARLEY_ASSIGN_OR_RETURN(reply.next, store_->LastUserSeq(who.user_id));
    return reply;
  }
  PARLEY_ASSIGN_OR_RETURN(auto events, store_->ScanInbox(who.user_id, req.since, limit + 1));
  if (events.empty() && req.since > 0) {
    // A cursor beyond the timeline's end was issued by a future this store never saw: the
    // store was restored from a backup taken before it. The device must start over.
    PARLEY_ASSIGN_OR_RETURN(Seq last, store_->LastUserSeq(who.user_id));
    if (req.since > last) {
      reply.reset = true;
      reply.next = last;
      return reply;
    }
  }
  reply.has_more = events.size() > limit;
  if (reply.has_more) events.resize(limit);
  reply.next = events.empty() ? req.since : events.back().user_seq;

  // One rule for sync, history and search: what a conversation holds is shown to its
  // members now. Events of a conversation the user left or was removed from are
  // withheld (their own member_joined / member_left stay). Membership is read after the
  // events: a user added meanwhile sees their new events whole, one removed meanwhile is
  // refused at once.
  PARLEY_ASSIGN_OR_RETURN(auto memberships, store_->ListUserConversations(who.user_id));
  std::unordered_set<ConvId> member_of;
  member_of.reserve(memberships.size());
  for (const auto& m : memberships) member_of.insert(m.conv_id);
  for (auto& e : events) {
    if (e.conv_id != 0 && !member_of.count(e.conv_id) && !ShownToNonMember(e)) e = Withheld(e);
  }

  std::vector<MessageKey> keys;
  for (const auto& e : events) {
    if (EventCarriesMessage(e.type)) {
      keys.push_back(MessageKey{e.conv_id, e.conv_seq});
    }
  }
  auto messages = store_->GetMessages(keys);
  reply.items.reserve(events.size());
  size_t k = 0;
  for (auto& e : events) {
    SyncItem item{e, std::nullopt};
    if (EventCarriesMessage(e.type)) {
      auto& m = messages[k++];
      if (m.ok()) {
        item.message = std::move(m).value();
      } else if (m.status().code() != Code::kNotFound) {
        return m.status();
      }
    }
    reply.items.push_back(std::move(item));
  }

  for (const auto& m : memberships) {
    if (!m.read_fanout) continue;
    PARLEY_ASSIGN_OR_RETURN(ConvHead head, store_->GetConvHead(m.conv_id));
    if (head.last_gseq > req.heads_since) {
      reply.heads.push_back(HeadInfo{m.conv_id, head.last_seq, head.last_ms});
    }
  }
  if (req.since > 0 && !who.device_id.empty()) {
    // Advisory bookkeeping, folded into the next group commit so that no sync pays for a
    // write of its own; nobody waits for it.
    sequencer_->Submit(Sequencer::Task{
        [user = who.user_id, device = who.device_id, since = req.since](CommitBatch& b) {
          b.writes().Add(op::PutDeviceCursor{user, device, since});
          return Status::Ok();
        },
        [](const Status&) {}, /*durable=*/false});
  }
  return reply;
}

Result<Seq> TimelineService::FirstSeqAtOrAfter(ConvId conv, const ConvHead& head, int64_t time_ms) {
  // conv_seq is gapless and server time never decreases along it: binary search.
  Seq lo = 1, hi = head.last_seq + 1;
  while (lo < hi) {
    Seq mid = lo + (hi - lo) / 2;
    PARLEY_ASSIGN_OR_RETURN(MessageRecord m, store_->GetMessage(conv, mid));
    if (m.server_ms < time_ms) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

Result<HistoryPage> TimelineService::History(const Identity& who, const HistoryRequest& req) {
  PARLEY_RETURN_IF_ERROR(ReadMembership(*store_, who.user_id, req.conv_id).status());
  size_t limit = req.limit == 0 ? config_.history_default_limit
                                : std::min(req.limit, config_.history_max_limit);
  HistoryPage page;
  PARLEY_ASSIGN_OR_RETURN(ConvHead head, store_->GetConvHead(req.conv_id));
  page.head_seq = head.last_seq;

  // Messages strictly before `end` (exclusive), newest first, reversed to ascending.
  auto backward = [&](Seq end, size_t n) -> Status {
    if (end <= 1 || n == 0) return Status::Ok();
    PARLEY_ASSIGN_OR_RETURN(auto msgs, store_->ScanMessages(req.conv_id, end - 1, false, n));
    page.messages.insert(page.messages.begin(), std::make_move_iterator(msgs.rbegin()),
                         std::make_move_iterator(msgs.rend()));
    return Status::Ok();
  };
  auto forward = [&](Seq start, size_t n) -> Status {
    if (start > head.last_seq || n == 0) return Status::Ok();
    PARLEY_ASSIGN_OR_RETURN(auto msgs, store_->ScanMessages(req.conv_id, start, true, n));
    page.messages.insert(page.messages.end(), std::make_move_iterator(msgs.begin()),
                         std::make_move_iterator(msgs.end()));
    return Status::Ok();
  };

  Seq before_edge = 0;  // conv_seq where the page's lower boundary sits
  Seq after_edge = 0;   // and its upper boundary
  switch (req.mode) {
    case HistoryRequest::Mode::kLatest:
      PARLEY_RETURN_IF_ERROR(backward(head.last_seq + 1, limit));
      before_edge = after_edge = head.last_seq + 1;
      break;
    case HistoryRequest::Mode::kBefore: {
      Seq end = std::min(req.seq, head.last_seq + 1);
      PARLEY_RETURN_IF_ERROR(backward(end, limit));
      before_edge = after_edge = end;
      break;
    }
    case HistoryRequest::Mode::kAfter: {
      Seq start = std::min(req.seq, head.last_seq) + 1;  // no overflow for a huge req.seq
      PARLEY_RETURN_IF_ERROR(forward(start, limit));
      before_edge = after_edge = start;
      break;
    }
    case HistoryRequest::Mode::kAroundTime: {
      PARLEY_ASSIGN_OR_RETURN(Seq pivot, FirstSeqAtOrAfter(req.conv_id, head, req.time_ms));
      size_t older = std::min<size_t>(limit / 2, pivot - 1);
      PARLEY_RETURN_IF_ERROR(forward(pivot, limit - older));
      size_t got_after = page.messages.size();
      PARLEY_RETURN_IF_ERROR(backward(pivot, limit - got_after));
      before_edge = after_edge = pivot;
      break;
    }
  }
  if (!page.messages.empty()) {
    page.has_more_before = page.messages.front().seq > 1;
    page.has_more_after = page.messages.back().seq < head.last_seq;
  } else {
    page.has_more_before = before_edge > 1 && head.last_seq > 0;
    page.has_more_after = after_edge <= head.last_seq;
  }
  return page;
}

Result<std::vector<ConversationSummary>> TimelineService::ListConversations(const Identity& who) {
  PARLEY_ASSIGN_OR_RETURN(auto memberships, store_->ListUserConversations(who.user_id));
  std::vector<ConversationSummary> out;
  out.reserve(memberships.size());
  std::vector<MessageKey> last_keys;
  for (const auto& m : memberships) {
    ConversationSummary s;
    PARLEY_ASSIGN_OR_RETURN(s.conv, store_->GetConversation(m.conv_id));
    // Opened by the peer, no message yet: it shows up with the first message.
    if (s.conv.hidden_from == who.user_id) continue;
    PARLEY_ASSIGN_OR_RETURN(s.head, store_->GetConvHead(m.conv_id));
    PARLEY_ASSIGN_OR_RETURN(s.read_seq, store_->GetReadCursor(who.user_id, m.conv_id));
    s.role = m.role;
    s.unread = s.head.last_seq > s.read_seq ? s.head.last_seq - s.read_seq : 0;
    if (s.conv.kind == ConvKind::kDirect) {
      PARLEY_ASSIGN_OR_RETURN(auto members, store_->ListMembers(m.conv_id));
      for (const auto& other : members) {
        if (other.user_id != who.user_id) s.peer = other.user_id;
      }
    }
    if (s.head.last_seq > 0) last_keys.push_back(MessageKey{m.conv_id, s.head.last_seq});
    out.push_back(std::move(s));
  }
  auto lasts = store_->GetMessages(last_keys);
  size_t k = 0;
  for (auto& s : out) {
    if (s.head.last_seq == 0) continue;
    auto& m = lasts[k++];
    if (m.ok()) s.last_message = std::move(m).value();
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.head.last_ms != b.head.last_ms) return a.head.last_ms > b.head.last_ms;
    return a.conv.id > b.conv.id;
  });
  return out;
}

}  // namespace parley
