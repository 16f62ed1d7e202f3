// Message ops: send, sync, history, read, recall, edit, typing.
#include "common/clock.h"
#include "gateway/dispatcher.h"
#include "metrics/stages.h"
#include "model/names.h"
#include "protocol/encode.h"

namespace parley {
namespace {

// The key of a (user, conversation) bucket: both ids mixed into 64 bits. Two pairs that
// collide (vanishingly rare) share one bucket, which is stricter, never looser.
uint64_t UserConvKey(UserId user, ConvId conv) {
  uint64_t x = user * 0x9E3779B97F4A7C15ull ^ (conv + 0x632BE59BD9B4E019ull);
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 29);
}

}  // namespace

Status Dispatcher::Send(const Link& s, const ParsedRequest& r) {
  auto start = Clock::now();
  SendRequest req;
  PARLEY_ASSIGN_OR_RETURN(auto conv, r.fields.OptUint("conv"));
  PARLEY_ASSIGN_OR_RETURN(auto to, r.fields.OptUser("to"));
  if (conv.has_value() == to.has_value()) {
    return Status(Code::kBadRequest, "give exactly one of 'conv' and 'to'");
  }
  PARLEY_ASSIGN_OR_RETURN(std::string_view cmid, r.fields.String("client_msg_id"));
  PARLEY_ASSIGN_OR_RETURN(std::string_view body, r.fields.String("body"));
  PARLEY_ASSIGN_OR_RETURN(auto kind, r.fields.OptString("kind"));
  if (kind) {
    std::optional<MessageKind> parsed = ParseMessageKind(*kind);
    if (!parsed) {
      return Status(Code::kInvalidArgument,
                    "kind must be \"text\", \"custom\", \"file\" or \"image\"");
    }
    req.kind = *parsed;
  }
  req.client_msg_id = std::string(cmid);
  req.body = std::string(body);
  // This connection learns its own event from the ack (user_seq), not from a push.
  req.origin = s->state().session_id;
  if (Paced(s, r.id, "sending")) return Status::Ok();

  Identity who = *s->state().identity;
  auto done = [this, s, id = r.id, start](Result<SendAck> ack) {
    if (!ack.ok()) {
      Fail(s, id, ack.status());
      return;
    }
    if (!ack->duplicate) metrics_.messages_sent.Inc();
    metrics_.send_latency.Observe(metrics::SecondsSince(start));
    s->Reply(SendAckReply(id, *ack));
  };
  if (HasAttachments(req.kind)) {
    if (!attachments_) return InvalidArgument("attachments are not enabled on this server");
    if (!conv) return InvalidArgument("a file or image is sent with 'conv', not 'to'");
    req.conv_id = *conv;
    // The attachment checks read the object store: on a worker, in order with the
    // connection's other sends.
    OnWorkerInOrder(s, r.id, [this, who, req = std::move(req), done = std::move(done)]() mutable {
      PARLEY_ASSIGN_OR_RETURN(
          AttachmentLinks::Linked linked,
          attachments_->Link(who, req.conv_id, req.kind, req.body, req.client_msg_id));
      req.stored_body = std::move(linked.stored_body);
      auto unlink_on_failure = [this, cmid = req.client_msg_id, added = std::move(linked.added),
                                done = std::move(done)](Result<SendAck> ack) {
        if (!ack.ok() && !added.empty()) attachments_->Unlink(cmid, added);
        done(std::move(ack));
      };
      api_.messages().Send(who, std::move(req), std::move(unlink_on_failure));
      return Status::Ok();
    });
    return Status::Ok();
  }
  if (conv) {
    req.conv_id = *conv;
    api_.messages().Send(who, std::move(req), std::move(done));
    return Status::Ok();
  }
  // `to`: opening the direct conversation may have to create it, which waits for a commit.
  // In order: a later send must not reach the sequencer before this one.
  OnWorkerInOrder(s, r.id,
                  [this, who, req = std::move(req), peer_ref = std::move(*to),
                   done = std::move(done)]() mutable {
                    PARLEY_ASSIGN_OR_RETURN(UserId peer, ResolveUser(peer_ref));
                    PARLEY_ASSIGN_OR_RETURN(ConversationRecord c,
                                            api_.conversations().OpenDirect(who.user_id, peer));
                    req.conv_id = c.id;
                    api_.messages().Send(who, std::move(req), std::move(done));
                    return Status::Ok();
                  });
  return Status::Ok();
}

Status Dispatcher::Sync(const Link& s, const ParsedRequest& r) {
  auto start = Clock::now();
  SyncRequest req;
  PARLEY_ASSIGN_OR_RETURN(req.since, r.fields.Uint("since"));
  PARLEY_ASSIGN_OR_RETURN(auto limit, r.fields.OptLimit("limit"));
  PARLEY_ASSIGN_OR_RETURN(auto heads_since, r.fields.OptUint("heads_since"));
  req.limit = limit.value_or(0);
  req.heads_since = heads_since.value_or(0);
  PARLEY_ASSIGN_OR_RETURN(SyncReply reply, api_.timeline().Sync(*s->state().identity, req));

  JsonWriter w = BeginReply(r.id);
  w.Key("events").BeginArray();
  for (const SyncItem& item : reply.items) {
    std::string message;
    if (item.message) {
      JsonWriter m;
      WriteMessage(m, *item.message);
      message = m.Take();
    }
    WriteEvent(w, item.event, message);
  }
  w.EndArray();
  w.Key("next").Uint(reply.next).Key("has_more").Bool(reply.has_more);
  w.Key("reset").Bool(reply.reset).Key("heads").BeginArray();
  for (const HeadInfo& h : reply.heads) {
    w.BeginObject().Key("conv").Uint(h.conv_id).Key("seq").Uint(h.last_seq);
    w.Key("ts").Int(h.last_ms).EndObject();
  }
  w.EndArray().Key("heads_next").Uint(reply.heads_next).EndObject();
  s->Reply(w.Take());
  metrics_.sync_latency.Observe(metrics::SecondsSince(start));
  return Status::Ok();
}

Status Dispatcher::History(const Link& s, const ParsedRequest& r) {
  HistoryRequest req;
  PARLEY_ASSIGN_OR_RETURN(req.conv_id, r.fields.Uint("conv"));
  PARLEY_ASSIGN_OR_RETURN(auto before, r.fields.OptUint("before"));
  PARLEY_ASSIGN_OR_RETURN(auto after, r.fields.OptUint("after"));
  PARLEY_ASSIGN_OR_RETURN(auto around, r.fields.OptInt("around_ts"));
  PARLEY_ASSIGN_OR_RETURN(auto limit, r.fields.OptLimit("limit"));
  if (around && *around < 0) {
    return Status(Code::kInvalidArgument, "around_ts is milliseconds since 1970");
  }
  if (before.has_value() + after.has_value() + around.has_value() > 1) {
    return Status(Code::kBadRequest, "give at most one of 'before', 'after' and 'around_ts'");
  }
  if (before) {
    req.mode = HistoryRequest::Mode::kBefore;
    req.seq = *before;
  } else if (after) {
    req.mode = HistoryRequest::Mode::kAfter;
    req.seq = *after;
  } else if (around) {
    req.mode = HistoryRequest::Mode::kAroundTime;
    req.time_ms = *around;
  }
  req.limit = limit.value_or(0);
  PARLEY_ASSIGN_OR_RETURN(HistoryPage page, api_.timeline().History(*s->state().identity, req));

  JsonWriter w = BeginReply(r.id);
  w.Key("messages").BeginArray();
  for (const MessageRecord& m : page.messages) WriteMessage(w, m);
  w.EndArray();
  w.Key("has_more_before").Bool(page.has_more_before);
  w.Key("has_more_after").Bool(page.has_more_after);
  w.Key("head_seq").Uint(page.head_seq).EndObject();
  s->Reply(w.Take());
  return Status::Ok();
}

Status Dispatcher::Read(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(uint64_t conv, r.fields.Uint("conv"));
  PARLEY_ASSIGN_OR_RETURN(uint64_t seq, r.fields.Uint("seq"));
  api_.messages().MarkRead(*s->state().identity, conv, seq,
                           [this, s, id = r.id](Result<ReadReply> reply) {
                             if (!reply.ok()) return Fail(s, id, reply.status());
                             JsonWriter w = BeginReply(id);
                             w.Key("read_seq").Uint(reply->read_seq).EndObject();
                             s->Reply(w.Take());
                           });
  return Status::Ok();
}

Status Dispatcher::Recall(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(uint64_t conv, r.fields.Uint("conv"));
  PARLEY_ASSIGN_OR_RETURN(uint64_t seq, r.fields.Uint("seq"));
  api_.messages().Recall(*s->state().identity, conv, seq, [this, s, id = r.id](Result<bool> done) {
    if (!done.ok()) return Fail(s, id, done.status());
    s->Reply(EmptyReply(id));
  });
  return Status::Ok();
}

Status Dispatcher::Edit(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(uint64_t conv, r.fields.Uint("conv"));
  PARLEY_ASSIGN_OR_RETURN(uint64_t seq, r.fields.Uint("seq"));
  PARLEY_ASSIGN_OR_RETURN(std::string_view body, r.fields.String("body"));
  // An edit is a write that reaches every member, like a send: it spends send tokens.
  if (Paced(s, r.id, "editing")) return Status::Ok();
  api_.messages().Edit(*s->state().identity, conv, seq, std::string(body),
                       [this, s, id = r.id](Result<EditReply> done) {
                         if (!done.ok()) return Fail(s, id, done.status());
                         JsonWriter w = BeginReply(id);
                         w.Key("conv").Uint(done->conv_id).Key("seq").Uint(done->seq);
                         w.Key("edited_ms").Int(done->edited_ms).EndObject();
                         s->Reply(w.Take());
                       });
  return Status::Ok();
}

Status Dispatcher::Typing(const Link& s, const ParsedRequest& r) {
  PARLEY_ASSIGN_OR_RETURN(uint64_t conv, r.fields.Uint("conv"));
  const UserId me = s->state().identity->user_id;
  // A notice reaches every member. The connection's bucket first (it bounds how many
  // per-conversation buckets one connection can create), then per conversation (refused
  // there, a notice spends none of the user's tokens), then per user across devices.
  if (Limited(s, r.id, s->state().typing_bucket, nullptr, "typing notices") ||
      KeyLimited(s, r.id, conv_typing_buckets_, UserConvKey(me, conv), 1,
                 "typing notices in this conversation") ||
      KeyLimited(s, r.id, user_typing_buckets_, me, 1, "typing notices")) {
    return Status::Ok();
  }
  // Not to a direct peer the conversation is still hidden from (conv.open alone).
  PARLEY_ASSIGN_OR_RETURN(auto others, api_.conversations().Audience(me, conv));
  auto frame = std::make_shared<const std::string>(TypingPush(conv, me));
  hub_.Broadcast(others, frame, nullptr);
  if (peers_) peers_->Typing(others, frame, me);  // their sessions on other nodes
  s->Reply(EmptyReply(r.id));
  return Status::Ok();
}

}  // namespace parley
