#include "service/messaging.h"

#include <simdjson.h>

#include <algorithm>
#include <memory>

#include "common/text.h"
#include "model/names.h"
#include "service/dedup_key.h"
#include "service/fanout.h"
#include "service/membership.h"
#include "store/record_codec.h"

namespace parley {
namespace {

// The conversation `id` if `user` holds a member record in it; NotMember otherwise. Writes
// take the record alone (service/membership.h): a first message is what shows a direct
// conversation to the peer it was hidden from.
Result<ConvState*> MemberConv(CommitBatch& b, ConvId id, UserId user) {
  auto conv = b.Conv(id);
  if (!conv.ok()) return conv.status().code() == Code::kNotFound ? NotMember(id) : conv.status();
  if (!(*conv)->IsMember(user)) return NotMember(id);
  return conv;
}

// Message (conv, seq) as this batch sees it: an edit staged but not yet durable is newer
// than the store.
Result<MessageRecord> CurrentMessage(CommitBatch& b, ConvId conv, Seq seq) {
  if (const MessageRecord* staged = b.FindPendingEdit(conv, seq)) return *staged;
  return b.store().GetMessage(conv, seq);
}

Status Conflict(const SendRequest& req, std::string_view what) {
  return Status(Code::kIdempotencyConflict,
                "client_msg_id '" + req.client_msg_id + "' was already used for a message with " +
                    std::string(what) + "; use a new client_msg_id for a new message");
}

// Whether `req` repeats the send that wrote `prior` (then its ack is the answer) or reuses
// the key for another message (kIdempotencyConflict). Records written before digests
// existed are compared with the stored message: its kind always, its body only while it is
// still the original one (neither edited nor recalled); otherwise the retry is taken as one.
Status CheckSameRequest(CommitBatch& b, const DedupRecord& prior, const SendRequest& req,
                        const std::string& digest) {
  if (prior.conv_id != req.conv_id) return Conflict(req, "another conversation");
  if (!prior.request_digest.empty()) {
    return prior.request_digest == digest ? Status::Ok() : Conflict(req, "another body or kind");
  }
  auto stored = CurrentMessage(b, prior.conv_id, prior.seq);
  if (!stored.ok()) {
    return stored.status().code() == Code::kNotFound ? Status::Ok() : stored.status();
  }
  if (stored->kind != req.kind) return Conflict(req, "another kind");
  const bool original = !stored->recalled && stored->edited_ms == 0;
  if (original && stored->body != req.body) return Conflict(req, "another body");
  return Status::Ok();
}

Status NoMessage(ConvId conv, Seq seq) {
  return NotFound("no message " + std::to_string(seq) + " in conversation " + std::to_string(conv));
}

// Stages `actor`'s change to stored message `m` of `conv` (its recall or edit, `kind`): a
// new gseq for the conversation head, the change-feed entry (the search indexer follows
// it), the rewritten message and an event to every member, whatever the fan-out mode
// (changes are rare).
Status StageMessageChange(CommitBatch& b, ConvState* conv, const MessageRecord& m, ChangeKind kind,
                          UserId actor) {
  const uint64_t gseq = b.NextGseq();
  conv->head.last_gseq = gseq;
  b.MarkHeadDirty(conv);
  b.writes().Add(op::PutChange{ChangeRecord{gseq, kind, m.conv_id, m.seq, b.now_ms()}});
  b.NoteMessage(m);
  b.writes().Add(op::PutMessage{m});
  const EventType type = kind == ChangeKind::kRecall ? EventType::kRecall : EventType::kEdit;
  return EmitToMembers(b, *conv, MessageEvent(type, m.conv_id, m.seq, actor, b.now_ms(), gseq));
}

// EmitToMembers for `sender`'s new message: the sender's own copy names the connection
// the send came from (`origin`), which the hub then does not push it to — the ack tells
// that connection instead, with the copy's user_seq (*sender_seq).
Status EmitSentMessage(CommitBatch& b, const ConvState& conv, InboxEvent proto, UserId sender,
                       uint64_t origin, Seq* sender_seq) {
  for (const auto& [user, member] : conv.members) {
    proto.user_id = user;
    PARLEY_RETURN_IF_ERROR(user == sender ? b.Emit(proto, origin, sender_seq) : b.Emit(proto));
  }
  return Status::Ok();
}

}  // namespace

Status MessageService::Validate(const SendRequest& r) const {
  if (!IsValidClientId(r.client_msg_id, config_.max_client_id_chars)) {
    return InvalidArgument("client_msg_id must be 1-" +
                           std::to_string(config_.max_client_id_chars) +
                           " printable ASCII characters without spaces");
  }
  return ValidateBody(r.kind, r.body);
}

namespace {

// {"attachments":["<id>", …1-10], "caption":"…"}: the ids are checked (and described) by
// the edge; here only the shape.
Status ValidateAttachmentBody(std::string_view body) {
  simdjson::dom::parser parser;
  auto doc = parser.parse(body.data(), body.size());
  simdjson::dom::object obj;
  if (doc.error() || doc.value().get(obj)) {
    return InvalidArgument("a file or image body must be a JSON object");
  }
  simdjson::dom::array ids;
  if (obj["attachments"].get(ids) || ids.size() == 0 || ids.size() > 10) {
    return InvalidArgument("a file or image body needs \"attachments\": 1-10 attachment ids");
  }
  for (simdjson::dom::element id : ids) {
    if (!id.is_string()) return InvalidArgument("attachment ids are strings");
  }
  for (auto field : obj) {
    if (field.key == "attachments") continue;
    if (field.key != "caption" || !field.value.is_string()) {
      return InvalidArgument(
          "a file or image body has \"attachments\" and a string \"caption\" only");
    }
  }
  return Status::Ok();
}

}  // namespace

Status MessageService::ValidateBody(MessageKind kind, std::string_view body) const {
  if (body.size() > config_.max_message_bytes) {
    return Status(Code::kTooLarge, "message body is " + std::to_string(body.size()) +
                                       " bytes; the limit is " +
                                       std::to_string(config_.max_message_bytes));
  }
  if (!IsValidUtf8(body)) return Status(Code::kInvalidUtf8, "message body is not valid UTF-8");
  switch (kind) {
    case MessageKind::kText:
      if (body.empty()) return InvalidArgument("text message is empty");
      break;
    case MessageKind::kCustom: {
      simdjson::dom::parser parser;
      auto doc = parser.parse(body.data(), body.size());
      if (doc.error() || !doc.value().is_object()) {
        return InvalidArgument("custom payload must be a JSON object");
      }
      break;
    }
    case MessageKind::kFile:
    case MessageKind::kImage:
      return ValidateAttachmentBody(body);
    default:
      return InvalidArgument("unknown message kind");
  }
  return Status::Ok();
}

void MessageService::Send(const Identity& who, SendRequest request, Callback<SendAck> done) {
  if (Status st = Validate(request); !st.ok()) {
    done(st);
    return;
  }
  // The edge describes the attachments (it checked the sender may send them here); a
  // file message that did not pass through it names nothing the server vouched for.
  if (HasAttachments(request.kind) && request.stored_body.empty()) {
    done(InvalidArgument("attachments are not enabled on this server"));
    return;
  }
  int64_t dedup_ttl = config_.dedup_ttl_ms;
  std::string digest = SendRequestDigest(request.kind, request.body);  // off the sequencer thread
  sequencer_->SubmitFor<SendAck>(
      [who, req = std::move(request), dedup_ttl, digest = std::move(digest)](
          CommitBatch& b, SendAck& ack) -> Status {
        // 1. A retry returns the first acknowledgement and stores nothing; a reuse of the
        // key for another message is refused.
        std::string dkey = DedupKey(who.user_id, req.client_msg_id);
        const DedupRecord* prior = nullptr;
        DedupRecord stored;
        if (const DedupRecord* pending = b.FindPendingDedup(dkey)) {
          prior = pending;
        } else if (auto r = b.store().GetDedup(who.user_id, req.client_msg_id, b.now_ms());
                   r.ok()) {
          stored = *r;
          prior = &stored;
        } else if (r.status().code() != Code::kNotFound) {
          return r.status();
        }
        if (prior) {
          PARLEY_RETURN_IF_ERROR(CheckSameRequest(b, *prior, req, digest));
          ack = SendAck{prior->conv_id, prior->seq, prior->msg_id, prior->server_ms, true};
          return Status::Ok();
        }
        // 2. Only members may write, and not to a peer who blocks them.
        PARLEY_ASSIGN_OR_RETURN(ConvState * conv, MemberConv(b, req.conv_id, who.user_id));
        PARLEY_RETURN_IF_ERROR(CheckDirectAllowed(b, *conv, who.user_id));

        // 3. Sequence and stage. The first message shows a direct conversation to the peer
        // it was hidden from (conv.open alone does not): their member_joined event comes
        // before the message.
        PARLEY_RETURN_IF_ERROR(RevealDirect(b, conv, who.user_id));
        MessageRecord m;
        m.conv_id = req.conv_id;
        m.seq = conv->head.last_seq + 1;
        m.msg_id = b.NextGseq();
        m.sender = who.user_id;
        m.sender_device = who.device_id;
        m.client_msg_id = req.client_msg_id;
        m.kind = req.kind;
        m.body = req.stored_body.empty() ? req.body : req.stored_body;
        // Never below the conversation's last message: history by time (around_ts)
        // binary-searches server_ms along conv_seq. The sequencer's batch time never goes
        // back within a process, but a wall clock stepped back before a restart (or by a
        // clock that ran ahead when the last message was stored) would; such messages then
        // share the last one's time until the clock catches up.
        m.server_ms = std::max(b.now_ms(), conv->head.last_ms);
        conv->head = ConvHead{m.seq, m.server_ms, m.msg_id};
        b.MarkHeadDirty(conv);
        ack = SendAck{m.conv_id, m.seq, m.msg_id, m.server_ms, false};
        DedupRecord dedup{m.conv_id, m.seq, m.msg_id, m.server_ms, m.server_ms + dedup_ttl, digest};
        b.AddPendingDedup(std::move(dkey), dedup);
        b.writes().Add(op::PutDedup{who.user_id, req.client_msg_id, dedup});
        b.writes().Add(op::PutChange{
            ChangeRecord{m.msg_id, ChangeKind::kMessage, m.conv_id, m.seq, m.server_ms}});
        b.SetPendingRead(who.user_id, m.conv_id, m.seq);
        b.writes().Add(op::PutReadCursor{who.user_id, m.conv_id, m.seq});
        if (conv->conv.read_fanout) {
          b.writes().Add(op::PutMessage{std::move(m)});
          b.NoteHeadMoved(conv);
          return Status::Ok();
        }
        b.NoteMessage(m);
        b.writes().Add(op::PutMessage{std::move(m)});
        return EmitSentMessage(b, *conv,
                               MessageEvent(EventType::kMessage, ack.conv_id, ack.seq, who.user_id,
                                            ack.server_ms, ack.msg_id),
                               who.user_id, req.origin, &ack.user_seq);
      },
      std::move(done));
}

Result<SendAck> MessageService::SendSync(const Identity& who, SendRequest request) {
  return Await<SendAck>([&](Callback<SendAck> cb) { Send(who, std::move(request), cb); });
}

void MessageService::Recall(const Identity& who, ConvId conv_id, Seq seq, Callback<bool> done) {
  int64_t window = config_.recall_window_ms;
  // The message as it was before the recall, for the observer (its attachments).
  auto before = std::make_shared<MessageRecord>();
  if (recall_observer_) {
    done = [done = std::move(done), before, observer = recall_observer_](Result<bool> r) {
      if (r.ok() && *r) observer(*before);
      done(std::move(r));
    };
  }
  sequencer_->SubmitFor<bool>(
      [who, conv_id, seq, window, before](CommitBatch& b, bool& changed) -> Status {
        PARLEY_ASSIGN_OR_RETURN(ConvState * conv, MemberConv(b, conv_id, who.user_id));
        auto me = conv->members.find(who.user_id);
        if (seq == 0 || seq > conv->head.last_seq) return NoMessage(conv_id, seq);
        // Recalled by an earlier request whose tombstone may not be in the store yet.
        if (conv->recalled.count(seq)) {
          changed = false;
          return Status::Ok();
        }
        PARLEY_ASSIGN_OR_RETURN(MessageRecord m, CurrentMessage(b, conv_id, seq));
        if (m.recalled) {
          changed = false;
          return Status::Ok();
        }
        bool moderator = conv->conv.kind == ConvKind::kGroup && me->second.role != Role::kMember;
        if (!moderator) {
          if (m.sender != who.user_id) {
            return PermissionDenied("only the sender or a group owner/admin may recall");
          }
          if (b.now_ms() - m.server_ms > window) {
            return Status(
                Code::kRecallWindowPassed,
                "the recall window of " + std::to_string(window / 1000) + " s has passed");
          }
        }
        *before = m;
        m.recalled = true;
        m.recalled_by = who.user_id;
        m.recalled_ms = b.now_ms();
        m.body.clear();
        conv->recalled.insert(seq);
        changed = true;
        return StageMessageChange(b, conv, m, ChangeKind::kRecall, who.user_id);
      },
      std::move(done));
}

Status MessageService::RecallSync(const Identity& who, ConvId conv, Seq seq) {
  auto r = Await<bool>([&](Callback<bool> cb) { Recall(who, conv, seq, cb); });
  return r.ok() ? Status::Ok() : r.status();
}

void MessageService::Edit(const Identity& who, ConvId conv_id, Seq seq, std::string body,
                          Callback<EditReply> done) {
  // Only text can be edited, so the body must be valid text.
  if (Status st = ValidateBody(MessageKind::kText, body); !st.ok()) {
    done(st);
    return;
  }
  int64_t window = config_.edit_window_ms;
  sequencer_->SubmitFor<EditReply>(
      [who, conv_id, seq, body = std::move(body), window](CommitBatch& b,
                                                          EditReply& out) -> Status {
        PARLEY_ASSIGN_OR_RETURN(ConvState * conv, MemberConv(b, conv_id, who.user_id));
        if (seq == 0 || seq > conv->head.last_seq) return NoMessage(conv_id, seq);
        PARLEY_ASSIGN_OR_RETURN(MessageRecord m, CurrentMessage(b, conv_id, seq));
        if (m.sender != who.user_id) return PermissionDenied("only the sender may edit a message");
        // An edit reaches the peer like a message: refused once the peer blocks the sender.
        PARLEY_RETURN_IF_ERROR(CheckDirectAllowed(b, *conv, who.user_id));
        // conv->recalled: a recall staged earlier, not in the store yet.
        if (m.recalled || conv->recalled.count(seq)) {
          return InvalidArgument("message " + std::to_string(seq) + " was recalled");
        }
        if (m.kind != MessageKind::kText) {
          return InvalidArgument("only text messages can be edited");
        }
        out = EditReply{conv_id, seq, m.edited_ms};
        // Before the window check, so that a retry of an edit that went through succeeds.
        if (m.body == body) return Status::Ok();
        if (window <= 0) return Status(Code::kFailedPrecondition, "editing is turned off");
        if (b.now_ms() - m.server_ms > window) {
          return Status(Code::kFailedPrecondition,
                        "the edit window of " + std::to_string(window / 1000) + " s has passed");
        }
        m.body = body;
        // Not before the message itself or its previous edit, whatever the wall clock did
        // (a later edit always shows a later time).
        m.edited_ms = std::max({b.now_ms(), m.server_ms, m.edited_ms});
        out.edited_ms = m.edited_ms;
        b.SetPendingEdit(m);
        return StageMessageChange(b, conv, m, ChangeKind::kEdit, who.user_id);
      },
      std::move(done));
}

Result<EditReply> MessageService::EditSync(const Identity& who, ConvId conv, Seq seq,
                                           std::string body) {
  return Await<EditReply>(
      [&](Callback<EditReply> cb) { Edit(who, conv, seq, std::move(body), cb); });
}

void MessageService::MarkRead(const Identity& who, ConvId conv_id, Seq seq,
                              Callback<ReadReply> done) {
  sequencer_->SubmitFor<ReadReply>(
      [who, conv_id, seq](CommitBatch& b, ReadReply& out) -> Status {
        PARLEY_ASSIGN_OR_RETURN(ConvState * conv, MemberConv(b, conv_id, who.user_id));
        PARLEY_ASSIGN_OR_RETURN(Seq current, b.store().GetReadCursor(who.user_id, conv_id));
        // A cursor staged earlier in this same batch is not in the store yet.
        if (auto pending = b.FindPendingRead(who.user_id, conv_id)) {
          current = std::max(current, *pending);
        }
        Seq target = std::min(seq, conv->head.last_seq);
        if (target <= current) {
          out.read_seq = current;
          return Status::Ok();
        }
        out.read_seq = target;
        b.SetPendingRead(who.user_id, conv_id, target);
        b.writes().Add(op::PutReadCursor{who.user_id, conv_id, target});
        PARLEY_RETURN_IF_ERROR(b.Emit(ReadEvent(who.user_id, conv_id, target, b.now_ms())));
        if (HasReadReceipts(conv->conv.kind)) {
          for (const auto& [peer, m] : conv->members) {
            if (peer == who.user_id) continue;
            PARLEY_RETURN_IF_ERROR(
                b.Emit(ReceiptEvent(peer, who.user_id, conv_id, target, b.now_ms())));
          }
        }
        return Status::Ok();
      },
      std::move(done));
}

Result<ReadReply> MessageService::MarkReadSync(const Identity& who, ConvId conv, Seq seq) {
  return Await<ReadReply>([&](Callback<ReadReply> cb) { MarkRead(who, conv, seq, cb); });
}

}  // namespace parley
