#include "cluster/hint_bus.h"

#include <spdlog/spdlog.h>

#include "cluster/notice_codec.h"
#include "common/codec.h"

namespace parley::cluster {
namespace {

constexpr uint8_t kFormat = 1;

Status Malformed(const char* what) {
  return Status(Code::kCorruption, std::string("hint: ") + what);
}

// Typing frames are small (a few hundred bytes): a hint claiming more is forged.
constexpr size_t kMaxTypingBytes = 1 << 20;

}  // namespace

void EncodeTyping(std::string_view origin, const TypingHint& hint, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Bytes(origin);
  w.Varint(hint.sender);
  w.Varint(hint.users.size());
  for (UserId u : hint.users) w.Varint(u);
  w.Bytes(hint.frame);
}

Result<TypingHint> DecodeTyping(std::string_view in, std::string* origin) {
  if (in.size() > kMaxTypingBytes) return Malformed("typing too large");
  Reader r(in);
  if (r.U8() != kFormat) return Malformed("typing format");
  *origin = std::string(r.Bytes());
  TypingHint hint;
  hint.sender = r.Varint();
  const uint64_t n = r.Varint();
  if (!r.ok() || n > r.rest().size()) return Malformed("typing users");
  hint.users.reserve(n);
  for (uint64_t i = 0; i < n; ++i) hint.users.push_back(r.Varint());
  hint.frame = std::string(r.Bytes());
  if (!r.ok() || !r.done()) return Malformed("typing");
  return hint;
}

void EncodeRevoke(std::string_view origin, const RevokeHint& hint, std::string* out) {
  Writer w(out);
  w.U8(kFormat);
  w.Bytes(origin);
  w.Varint(hint.user);
  w.U8(static_cast<uint8_t>(hint.scope));
  w.Bytes(hint.device);
}

Result<RevokeHint> DecodeRevoke(std::string_view in, std::string* origin) {
  Reader r(in);
  if (r.U8() != kFormat) return Malformed("revoke format");
  *origin = std::string(r.Bytes());
  RevokeHint hint;
  hint.user = r.Varint();
  const uint8_t scope = r.U8();
  hint.device = std::string(r.Bytes());
  if (!r.ok() || !r.done() || scope > static_cast<uint8_t>(RevokeScope::kOtherDevices)) {
    return Malformed("revoke");
  }
  hint.scope = static_cast<RevokeScope>(scope);
  return hint;
}

HintBus::HintBus(RedisConnection& publisher, RedisConnection& subscriber, std::string node,
                 HintHandlers handlers, metrics::Registry& registry)
    : publisher_(publisher),
      subscriber_(subscriber),
      node_(std::move(node)),
      handlers_(std::move(handlers)),
      malformed_(registry.counter("parley_redis_hints_malformed_total",
                                  "Hints received from Redis that did not decode (dropped).")) {
  auto kind = [&](const char* name) {
    metrics::Labels labels{{"kind", name}};
    return Kind{&registry.counter("parley_redis_hints_published_total", "Hints published on Redis.",
                                  labels),
                &registry.counter("parley_redis_hints_received_total",
                                  "Hints of other nodes received from Redis.", labels),
                &registry.counter("parley_redis_hints_dropped_total",
                                  "Hints not published (Redis down, or too large).", labels)};
  };
  inbox_ = kind("inbox");
  typing_ = kind("typing");
  tokens_ = kind("tokens");
}

void HintBus::OnSubscriberState(bool up) {
  confirmed_ = 0;
  if (!up) return;
  subscriber_.SubscribeOnIo({kInboxChannel, kTypingChannel, kTokensChannel},
                            [this](const redisReply* reply) { OnPush(reply); });
}

void HintBus::OnPush(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
  const std::string_view type = ReplyString(reply->element[0]);
  if (type == "subscribe") {
    // Every channel confirmed: from here on nothing is missed (until the next loss).
    if (++confirmed_ == 3) {
      resubscribes_.fetch_add(1, std::memory_order_relaxed);
      if (handlers_.on_resubscribed) handlers_.on_resubscribed();
    }
    return;
  }
  if (type != "message") return;
  OnMessage(ReplyString(reply->element[1]), ReplyString(reply->element[2]));
}

void HintBus::OnMessage(std::string_view channel, std::string_view payload) {
  if (channel == kInboxChannel) {
    auto hint = DecodeHint(payload);
    if (!hint.ok()) return malformed_.Inc();
    if (hint->origin_node == node_) return (void)own_.fetch_add(1, std::memory_order_relaxed);
    inbox_.received->Inc();
    if (handlers_.on_notice) handlers_.on_notice(hint->notice);
  } else if (channel == kTypingChannel) {
    std::string origin;
    auto hint = DecodeTyping(payload, &origin);
    if (!hint.ok()) return malformed_.Inc();
    if (origin == node_) return (void)own_.fetch_add(1, std::memory_order_relaxed);
    typing_.received->Inc();
    if (handlers_.on_typing) handlers_.on_typing(*hint);
  } else if (channel == kTokensChannel) {
    std::string origin;
    auto hint = DecodeRevoke(payload, &origin);
    if (!hint.ok()) return malformed_.Inc();
    if (origin == node_) return (void)own_.fetch_add(1, std::memory_order_relaxed);
    tokens_.received->Inc();
    if (handlers_.on_revoke) handlers_.on_revoke(*hint);
  }
}

void HintBus::Publish(const char* channel, Kind& kind, std::string payload) {
  if (!publisher_.up()) return kind.dropped->Inc();  // no need to queue what will fail
  publisher_.Command({"PUBLISH", channel, std::move(payload)}, [&kind](const redisReply* reply) {
    (IsError(reply) ? kind.dropped : kind.published)->Inc();
  });
}

void HintBus::PublishNotice(const CommitNotice& notice) {
  if (notice.events.empty() && notice.head_moves.empty()) return;  // nothing to push
  std::string payload;
  EncodeHint(node_, notice, &payload);
  if (payload.size() > kMaxHintBytes) return inbox_.dropped->Inc();  // receivers refuse it
  Publish(kInboxChannel, inbox_, std::move(payload));
}

void HintBus::PublishTyping(const std::vector<UserId>& users, std::string_view frame,
                            UserId sender) {
  std::string payload;
  EncodeTyping(node_, TypingHint{users, sender, std::string(frame)}, &payload);
  Publish(kTypingChannel, typing_, std::move(payload));
}

void HintBus::PublishRevoke(UserId user, RevokeScope scope, std::string_view device) {
  std::string payload;
  EncodeRevoke(node_, RevokeHint{user, scope, std::string(device)}, &payload);
  Publish(kTokensChannel, tokens_, std::move(payload));
}

}  // namespace parley::cluster
