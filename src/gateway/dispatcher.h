// Dispatcher: turns one parsed request frame into a service call and its reply.
//
// Threading: OnText/OnBinary/OnClosed run on the session's network thread. Cheap reads
// (sync, history, lists, token auth) are answered inline — they are sub-millisecond store
// reads. Sends, recalls, edits and read cursors go to the sequencer asynchronously; their
// completions run on the committer thread and only queue the reply. Blocking work
// (conversation changes that wait for their commit, search) runs on the worker pool;
// password hashing runs on the bounded hash pool (OnHasher), so guessers cannot starve
// other work and a full pool is answered `unavailable` at once. Logins are limited per
// account name and per client IP with growing lockouts (FailureBackoff). Every request
// produces exactly one reply.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string_view>

#include "common/hash_pool.h"
#include "common/worker_pool.h"
#include "gateway/attachment_links.h"
#include "gateway/cluster_peers.h"
#include "gateway/command_table.h"
#include "gateway/config.h"
#include "gateway/gateway_metrics.h"
#include "gateway/session_link.h"
#include "hub/hub.h"
#include "limits/failure_backoff.h"
#include "limits/keyed_token_buckets.h"
#include "limits/log_throttle.h"
#include "protocol/request.h"
#include "service/api.h"

namespace parley {
namespace search {
class SearchService;
}  // namespace search

class Dispatcher {
 public:
  using Link = std::shared_ptr<SessionLink>;

  // `search` may be null (search disabled): the op then answers `unavailable`. `peers`
  // may be null (single-node mode): typing, revocations, presence and shared limits then
  // stay on this node.
  Dispatcher(CoreApi& api, Hub& hub, const GatewayConfig& config, GatewayMetrics& metrics,
             WorkerPool& workers, HashPool& hashers, search::SearchService* search = nullptr,
             ClusterPeers* peers = nullptr);

  void OnText(const Link& s, std::string_view frame);
  void OnBinary(const Link& s);
  // A frame above max_frame_bytes (but under the hard limit) was read and discarded.
  void OnTooLarge(const Link& s, size_t bytes);
  // The connection ended: leave the hub.
  void OnClosed(SessionLink& s);
  // File and image sends (null: refused, attachments are off). Set before serving.
  void SetAttachments(AttachmentLinks* links) { attachments_ = links; }
  // Shutting down: new requests are answered with `unavailable`.
  void SetDraining() { draining_.store(true, std::memory_order_relaxed); }

  SessionState NewSessionState() const;

  // The command table (gateway/command_table.h): one row per op, in Op order.
  static const std::array<Command, kOpCount>& Table();

 private:
  using Clock = std::chrono::steady_clock;

  // Error reply from any thread (metrics only).
  void Fail(const Link& s, const RequestId& id, const Status& status, int64_t retry_ms = -1);
  // Error reply on the session thread for a request refused before any work: also counts
  // towards the abuse limit.
  void Refuse(const Link& s, const RequestId& id, const Status& status, int64_t retry_ms = -1);
  // Takes a token from `bucket` (and from the user's bucket in `per_user`, if given). If
  // one is empty, replies `rate_limited` with the wait and returns true.
  bool Limited(const Link& s, const RequestId& id, TokenBucket& bucket, KeyedTokenBuckets* per_user,
               std::string_view what, double cost = 1);
  // Takes `cost` tokens of `key`'s bucket in `buckets` (shared by connections). If it is
  // short, replies `rate_limited` with the time until the tokens are there; returns true.
  bool KeyLimited(const Link& s, const RequestId& id, KeyedTokenBuckets& buckets, uint64_t key,
                  double cost, std::string_view what);
  // Flow control for writes that commit in order (send, edit): over the rate the request is
  // still taken and reading pauses until the borrowed tokens are back; refused (reply sent,
  // returns true) only when the user's shared bucket is more than send_max_wait_ms behind,
  // or right after such a refusal. docs/protocol.md §5.
  bool Paced(const Link& s, const RequestId& id, std::string_view what);
  Result<UserId> ResolveUser(const UserRef& ref);
  Result<std::vector<UserId>> ResolveUsers(const std::vector<UserRef>& refs);

  // Ops (one per protocol op; see docs/protocol.md §3).
  Status Ping(const Link& s, const ParsedRequest& r);
  Status Register(const Link& s, const ParsedRequest& r);
  Status Login(const Link& s, const ParsedRequest& r);
  Status Auth(const Link& s, const ParsedRequest& r);
  Status Logout(const Link& s, const ParsedRequest& r);
  Status Users(const Link& s, const ParsedRequest& r);
  Status Send(const Link& s, const ParsedRequest& r);
  Status Sync(const Link& s, const ParsedRequest& r);
  Status History(const Link& s, const ParsedRequest& r);
  Status Read(const Link& s, const ParsedRequest& r);
  Status Recall(const Link& s, const ParsedRequest& r);
  Status Edit(const Link& s, const ParsedRequest& r);
  Status Typing(const Link& s, const ParsedRequest& r);
  Status Search(const Link& s, const ParsedRequest& r);
  Status Convs(const Link& s, const ParsedRequest& r);
  Status ConvOpen(const Link& s, const ParsedRequest& r);
  Status ConvCreate(const Link& s, const ParsedRequest& r);
  Status ConvGet(const Link& s, const ParsedRequest& r);
  Status ConvMembers(const Link& s, const ParsedRequest& r);
  Status ConvChange(const Link& s, const ParsedRequest& r);
  Status BlockChange(const Link& s, const ParsedRequest& r);  // block and unblock
  Status Blocks(const Link& s, const ParsedRequest& r);
  Status PasswordChange(const Link& s, const ParsedRequest& r);
  Status Devices(const Link& s, const ParsedRequest& r);
  Status DeviceRevoke(const Link& s, const ParsedRequest& r);

  // Becomes authenticated as `who` (holding `token`) and joins the hub. Session thread.
  // `epoch`: the hub's revocation epoch read before the token was last checked; if a
  // revocation ran since, the token is checked again, so a session never outlives a
  // revocation that raced with its login. kUnauthenticated if the token is no longer valid.
  [[nodiscard]] Status Authenticated(const Link& s, const Identity& who, std::string name,
                                     const std::string& token, uint64_t epoch);
  // Moves the expiry of the session's token if due (throttled per session and per device).
  // Session thread; the write runs on a worker.
  void MaybeTouch(const Link& s);
  // Records a use of `who`'s token on a worker; closes the device's sessions if it expired.
  void TouchOnWorker(const Identity& who);
  // Runs `job` on the lane of r.op's row in the command table (worker, worker in order,
  // hashing pool; inline and sequencer lanes run it here). Its Status, if not OK, becomes
  // the error reply.
  void RunOnLane(const Link& s, const ParsedRequest& r, std::function<Status()> job);
  // Runs `job` on the worker pool; its Status, if not OK, becomes the error reply.
  void OnWorker(const Link& s, const RequestId& id, std::function<Status()> job);
  // As OnWorker, for a job that writes: the connection reads no further frame until the job
  // has returned (its write committed, or for a send queued at the sequencer), so the
  // writes of one connection commit in the order their frames were read.
  void OnWorkerInOrder(const Link& s, const RequestId& id, std::function<Status()> job);
  // Runs `job` (which hashes or verifies a password) on the hash pool; its Status, if not
  // OK, becomes the error reply. If the pool's queue is full, replies `unavailable` with
  // retry_after_ms at once and returns false (`job` is dropped). Any thread.
  bool OnHasher(const Link& s, const RequestId& id, std::function<Status()> job);
  // A login failed for `account` from `ip`: counts it towards both lockouts, the metric and
  // the (throttled) log. Any thread.
  void LoginFailed(const std::string& account, const std::string& ip, const Status& why);
  // Hub::Close, and the same on the other nodes of a cluster.
  void CloseEverywhere(UserId user, Hub::Scope scope, const std::string& device,
                       const std::string& reason);
  // The cross-node budget (ClusterPeers::Admit): true after replying `rate_limited` when
  // it is spent. Always false in single-node mode.
  bool SharedLimited(const Link& s, const RequestId& id, ClusterPeers::Limit limit,
                     std::string_view subject, const char* message);

  CoreApi& api_;
  search::SearchService* search_;
  ClusterPeers* peers_;  // null: single-node mode
  AttachmentLinks* attachments_ = nullptr;
  Hub& hub_;
  GatewayConfig config_;
  GatewayMetrics& metrics_;
  WorkerPool& workers_;
  HashPool& hashers_;
  KeyedTokenBuckets user_send_buckets_;
  KeyedTokenBuckets user_typing_buckets_;
  KeyedTokenBuckets conv_typing_buckets_;  // by (user, conversation)
  KeyedTokenBuckets user_membership_buckets_;
  KeyedTokenBuckets user_lookup_buckets_;
  KeyedTokenBuckets register_ip_buckets_;  // keyed by a hash of the client IP
  FailureBackoff login_account_backoff_;   // keyed by normalised user name
  FailureBackoff login_ip_backoff_;        // keyed by client IP
  LogThrottle login_log_;
  std::atomic<bool> draining_{false};
};

}  // namespace parley
