// HintBus: the cross-node push hints of cluster mode, on Redis pub/sub.
//
// Channels (":0" is the shard; sharding comes later):
//   parley:inbox:0   a commit's notice (notice_codec.h): every node pushes it to its own
//                    sessions of the users concerned.
//   parley:typing:0  a typing frame, already encoded, with its target users and the
//                    sender's user id (whose sessions are skipped).
//   parley:tokens    a credential revocation (user, scope, device): every node closes the
//                    matching sessions.
// Every message starts with the publishing node's name; a node ignores its own.
//
// Pub/sub is at most once: a hint published while a node's subscription is down is lost
// for it. So on every (re)subscribe — the first one included — the bus calls
// on_resubscribed (the node answers with one `resync` push per session: devices pull
// after their cursor). Publishing while Redis is down drops the hint and counts it; a
// malformed hint is dropped and counted, never trusted. Nothing here is needed for
// correctness.
//
// Metrics: parley_redis_hints_published_total{kind}, parley_redis_hints_received_total
// {kind}, parley_redis_hints_dropped_total{kind} (not published: Redis down, or too
// large), parley_redis_hints_malformed_total.
//
// Thread-safety: Publish* from any thread. The handlers run on the connections' io
// thread, one at a time. OnSubscriberState must be wired to the subscriber connection's
// state callback (io thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_connection.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "model/records.h"
#include "service/commit_notice.h"

namespace parley::cluster {

inline constexpr const char* kInboxChannel = "parley:inbox:0";
inline constexpr const char* kTypingChannel = "parley:typing:0";
inline constexpr const char* kTokensChannel = "parley:tokens";

struct TypingHint {
  std::vector<UserId> users;  // who should see it
  UserId sender = 0;          // whose sessions are skipped
  std::string frame;          // the push, encoded
};

// Which of a user's sessions a revocation ends (mirrors Hub::Scope).
enum class RevokeScope : uint8_t { kDevice = 0, kAllDevices = 1, kOtherDevices = 2 };

struct RevokeHint {
  UserId user = 0;
  RevokeScope scope = RevokeScope::kDevice;
  std::string device;
};

struct HintHandlers {
  std::function<void(const CommitNotice&)> on_notice;
  std::function<void(const TypingHint&)> on_typing;
  std::function<void(const RevokeHint&)> on_revoke;
  // The subscription is (again) in place; hints published while it was not are lost.
  std::function<void()> on_resubscribed;
};

class HintBus {
 public:
  // `publisher` sends PUBLISH; `subscriber` is dedicated to SUBSCRIBE. Both, and
  // `registry`, must outlive the bus. `node`: this node's name (the origin of its hints).
  HintBus(RedisConnection& publisher, RedisConnection& subscriber, std::string node,
          HintHandlers handlers, metrics::Registry& registry);

  // Wire to the subscriber connection's OnState. Io thread.
  void OnSubscriberState(bool up);

  void PublishNotice(const CommitNotice& notice);
  void PublishTyping(const std::vector<UserId>& users, std::string_view frame, UserId sender);
  void PublishRevoke(UserId user, RevokeScope scope, std::string_view device);

  const std::string& node() const { return node_; }
  uint64_t resubscribes() const { return resubscribes_.load(std::memory_order_relaxed); }
  uint64_t own_ignored() const { return own_.load(std::memory_order_relaxed); }

 private:
  struct Kind {
    metrics::Counter* published;
    metrics::Counter* received;
    metrics::Counter* dropped;
  };
  void Publish(const char* channel, Kind& kind, std::string payload);
  void OnPush(const redisReply* reply);
  void OnMessage(std::string_view channel, std::string_view payload);

  RedisConnection& publisher_;
  RedisConnection& subscriber_;
  const std::string node_;
  const HintHandlers handlers_;
  Kind inbox_, typing_, tokens_;
  metrics::Counter& malformed_;
  size_t confirmed_ = 0;  // io thread: SUBSCRIBE confirmations since the last connect
  std::atomic<uint64_t> resubscribes_{0};
  std::atomic<uint64_t> own_{0};
};

// The payloads of the typing and token channels (exposed for tests). Decode* returns
// kCorruption on anything malformed. Layout: u8 format (1) | bytes origin | then
//   typing: varint sender | varint n × varint user | bytes frame
//   tokens: varint user | u8 scope | bytes device
void EncodeTyping(std::string_view origin, const TypingHint& hint, std::string* out);
Result<TypingHint> DecodeTyping(std::string_view in, std::string* origin);
void EncodeRevoke(std::string_view origin, const RevokeHint& hint, std::string* out);
Result<RevokeHint> DecodeRevoke(std::string_view in, std::string* origin);

}  // namespace parley::cluster
