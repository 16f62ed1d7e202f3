#include "hub/hub.h"

#include <algorithm>
#include <chrono>

#include "metrics/stages.h"
#include "protocol/encode.h"

namespace parley {
namespace {

struct MessageKey {
  ConvId conv;
  Seq seq;
  bool operator==(const MessageKey&) const = default;
};
struct MessageKeyHash {
  size_t operator()(const MessageKey& k) const { return k.conv * 0x9E3779B97F4A7C15ULL ^ k.seq; }
};

}  // namespace

void Hub::Follow(CommitFeed& feed) {
  feed_subscription_ = feed.Subscribe(
      "hub", [this](const CommitFeed::Notice& notice) { OnCommit(*notice); },
      [this](const CommitGap&) { OnGap(); });
}

void Hub::PruneDead(std::vector<Session>& sessions) {
  const size_t before = sessions.size();
  sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                [](const Session& s) { return s.subscriber.expired(); }),
                 sessions.end());
  sessions_.fetch_sub(before - sessions.size(), std::memory_order_relaxed);
}

namespace {

// Strong references to those of `weak` still alive. Called outside the hub's locks: a
// session whose last reference this drops is destroyed here, not under a lock.
std::vector<std::shared_ptr<Subscriber>> LockAll(
    const std::vector<std::weak_ptr<Subscriber>>& weak) {
  std::vector<std::shared_ptr<Subscriber>> out;
  out.reserve(weak.size());
  for (const auto& w : weak) {
    if (auto s = w.lock()) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

bool Hub::Attach(UserId user, std::string device, std::shared_ptr<Subscriber> subscriber,
                 uint64_t epoch, uint64_t session_id) {
  std::vector<std::weak_ptr<Subscriber>> evicted;
  {
    Shard& shard = ShardOf(user);
    std::lock_guard<std::mutex> lock(shard.mu);
    // Close moves the epoch under the lock of the shard it works on, so for one user the
    // two are ordered: either this session is in the list Close sweeps, or we see the move.
    if (epoch_.load(std::memory_order_seq_cst) != epoch) return false;
    auto& subs = shard.users[user];
    if (subs.empty()) users_.fetch_add(1, std::memory_order_relaxed);
    PruneDead(subs);  // the dead do not count against the cap
    // The oldest go, not the newcomer: a user reconnecting while half-open connections of
    // theirs still linger (until the idle timeout) must not be locked out by them.
    while (max_per_user_ > 0 && subs.size() >= max_per_user_) {
      evicted.push_back(std::move(subs.front().subscriber));
      subs.erase(subs.begin());
    }
    const Subscriber* key = subscriber.get();
    subs.push_back(Session{std::move(subscriber), key, std::move(device), session_id});
    sessions_.fetch_add(1, std::memory_order_relaxed);
    sessions_.fetch_sub(evicted.size(), std::memory_order_relaxed);
  }
  over_cap_.fetch_add(evicted.size(), std::memory_order_relaxed);
  for (auto& s : LockAll(evicted)) s->Revoke(kCloseTooManySessions, "too many sessions");
  return true;
}

void Hub::EraseIfEmpty(Shard& shard, UserId user) {
  auto it = shard.users.find(user);
  if (it == shard.users.end() || !it->second.empty()) return;
  shard.users.erase(it);
  users_.fetch_sub(1, std::memory_order_relaxed);
}

void Hub::Detach(UserId user, const Subscriber* subscriber) {
  Shard& shard = ShardOf(user);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.users.find(user);
  if (it == shard.users.end()) return;
  auto& subs = it->second;
  auto pos = std::find_if(subs.begin(), subs.end(),
                          [subscriber](const auto& s) { return s.key == subscriber; });
  if (pos != subs.end()) {
    subs.erase(pos);
    sessions_.fetch_sub(1, std::memory_order_relaxed);
  }
  EraseIfEmpty(shard, user);
}

size_t Hub::Close(UserId user, Scope scope, std::string_view device, uint16_t code,
                  const std::string& reason) {
  std::vector<std::weak_ptr<Subscriber>> closed;
  {
    Shard& shard = ShardOf(user);
    std::lock_guard<std::mutex> lock(shard.mu);
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    auto it = shard.users.find(user);
    if (it != shard.users.end()) {
      auto& subs = it->second;
      PruneDead(subs);
      auto matches = [&](const Session& s) {
        switch (scope) {
          case Scope::kDevice:
            return s.device == device;
          case Scope::kAllDevices:
            return true;
          case Scope::kOtherDevices:
            return s.device != device;
        }
        return false;
      };
      auto keep = std::stable_partition(subs.begin(), subs.end(),
                                        [&](const Session& s) { return !matches(s); });
      for (auto i = keep; i != subs.end(); ++i) closed.push_back(std::move(i->subscriber));
      subs.erase(keep, subs.end());
      sessions_.fetch_sub(closed.size(), std::memory_order_relaxed);
      EraseIfEmpty(shard, user);
    }
  }
  const auto live = LockAll(closed);
  revoked_.fetch_add(live.size(), std::memory_order_relaxed);
  for (auto& s : live) s->Revoke(code, reason);
  return live.size();
}

std::vector<Hub::LiveSession> Hub::Lookup(UserId user) {
  std::vector<std::pair<std::weak_ptr<Subscriber>, uint64_t>> weak;
  {
    Shard& shard = ShardOf(user);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.users.find(user);
    if (it == shard.users.end()) return {};
    PruneDead(it->second);
    weak.reserve(it->second.size());
    for (const auto& s : it->second) weak.emplace_back(s.subscriber, s.id);
    EraseIfEmpty(shard, user);
  }
  // Locked outside the shard lock, as LockAll does.
  std::vector<LiveSession> live;
  live.reserve(weak.size());
  for (const auto& [w, id] : weak) {
    if (auto s = w.lock()) live.push_back(LiveSession{std::move(s), id});
  }
  return live;
}

void Hub::DeliverTo(const Subscribers& subs, const std::vector<Frame>& frames) {
  for (const auto& s : subs) s->Deliver(frames);
  pushed_.fetch_add(subs.size() * frames.size(), std::memory_order_relaxed);
}

void Hub::DeliverEvents(const std::vector<LiveSession>& sessions,
                        const std::vector<uint64_t>& origins, const std::vector<Frame>& frames) {
  for (const LiveSession& live : sessions) {
    const bool originated =
        live.id != 0 && std::find(origins.begin(), origins.end(), live.id) != origins.end();
    if (!originated) {
      live.subscriber->Deliver(frames);
      pushed_.fetch_add(frames.size(), std::memory_order_relaxed);
      continue;
    }
    std::vector<Frame> others;
    for (size_t i = 0; i < frames.size(); ++i) {
      if (origins[i] != live.id) others.push_back(frames[i]);
    }
    if (others.empty()) continue;
    pushed_.fetch_add(others.size(), std::memory_order_relaxed);
    live.subscriber->Deliver(std::move(others));
  }
}

void Hub::OnCommit(const CommitNotice& notice) {
  if (sessions() == 0) return;
  const auto start = std::chrono::steady_clock::now();

  // Messages are encoded once, when the first online recipient needs one.
  std::unordered_map<MessageKey, const MessageRecord*, MessageKeyHash> messages;
  std::unordered_map<MessageKey, std::string, MessageKeyHash> encoded;
  for (const auto& m : notice.messages) messages[{m.conv_id, m.seq}] = &m;
  auto message_json = [&](const InboxEvent& e) -> std::string_view {
    if (!EventCarriesMessage(e.type)) return {};
    MessageKey key{e.conv_id, e.conv_seq};
    auto done = encoded.find(key);
    if (done != encoded.end()) return done->second;
    auto m = messages.find(key);
    if (m == messages.end()) return {};  // the client pulls it with sync
    JsonWriter w;
    WriteMessage(w, *m->second);
    return encoded.emplace(key, w.Take()).first->second;
  };

  // Events are grouped per user (ascending user_seq), so each session gets one delivery
  // per commit with its frames in order. A notice without origins (built by hand in
  // tests) has none.
  std::unordered_map<UserId, std::vector<size_t>> by_user;
  for (size_t i = 0; i < notice.events.size(); ++i) by_user[notice.events[i].user_id].push_back(i);
  for (const auto& [user, indexes] : by_user) {
    std::vector<LiveSession> sessions = Lookup(user);
    if (sessions.empty()) continue;
    std::vector<Frame> frames;
    std::vector<uint64_t> origins;
    frames.reserve(indexes.size());
    origins.reserve(indexes.size());
    for (size_t i : indexes) {
      const InboxEvent& e = notice.events[i];
      frames.push_back(std::make_shared<const std::string>(EventPush(e, message_json(e))));
      origins.push_back(i < notice.origins.size() ? notice.origins[i] : 0);
    }
    DeliverEvents(sessions, origins, frames);
  }

  for (const auto& move : notice.head_moves) {
    if (!move.members) continue;
    auto frame =
        std::make_shared<const std::string>(HeadPush(move.conv_id, move.last_seq, move.last_ms));
    Broadcast(*move.members, frame, nullptr);
  }
  if (metrics::Histogram* h = commit_histogram_.load(std::memory_order_acquire)) {
    h->Observe(metrics::SecondsSince(start));
  }
}

void Hub::OnGap() {
  if (sessions() == 0) return;
  const std::vector<Frame> resync{std::make_shared<const std::string>(ResyncPush("server_lag"))};
  for (Shard& shard : shards_) {
    std::vector<std::weak_ptr<Subscriber>> weak;
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (auto& [user, subs] : shard.users) {
        PruneDead(subs);
        for (const auto& s : subs) weak.push_back(s.subscriber);
      }
      std::erase_if(shard.users, [&](const auto& entry) {
        if (!entry.second.empty()) return false;
        users_.fetch_sub(1, std::memory_order_relaxed);
        return true;
      });
    }
    const Subscribers live = LockAll(weak);
    gap_resyncs_.fetch_add(live.size(), std::memory_order_relaxed);
    DeliverTo(live, resync);
  }
}

void Hub::Broadcast(const std::vector<UserId>& users, const Frame& frame,
                    const Subscriber* except) {
  std::vector<Frame> frames{frame};
  for (UserId user : users) {
    Subscribers subs;
    for (LiveSession& live : Lookup(user)) {
      if (live.subscriber.get() != except) subs.push_back(std::move(live.subscriber));
    }
    DeliverTo(subs, frames);
  }
}

}  // namespace parley
