#include "hub/hub.h"

#include <algorithm>

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

void Hub::Attach(UserId user, std::shared_ptr<Subscriber> subscriber) {
  Shard& shard = ShardOf(user);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto& subs = shard.users[user];
  if (subs.empty()) users_.fetch_add(1, std::memory_order_relaxed);
  subs.push_back(std::move(subscriber));
  sessions_.fetch_add(1, std::memory_order_relaxed);
}

void Hub::Detach(UserId user, const Subscriber* subscriber) {
  Shard& shard = ShardOf(user);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.users.find(user);
  if (it == shard.users.end()) return;
  auto& subs = it->second;
  auto pos = std::find_if(subs.begin(), subs.end(),
                          [subscriber](const auto& s) { return s.get() == subscriber; });
  if (pos == subs.end()) return;
  subs.erase(pos);
  sessions_.fetch_sub(1, std::memory_order_relaxed);
  if (subs.empty()) {
    shard.users.erase(it);
    users_.fetch_sub(1, std::memory_order_relaxed);
  }
}

Hub::Subscribers Hub::Lookup(UserId user) {
  Shard& shard = ShardOf(user);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.users.find(user);
  return it == shard.users.end() ? Subscribers{} : it->second;
}

void Hub::DeliverTo(const Subscribers& subs, const std::vector<Frame>& frames) {
  for (const auto& s : subs) s->Deliver(frames);
  pushed_.fetch_add(subs.size() * frames.size(), std::memory_order_relaxed);
}

void Hub::OnCommit(const CommitNotice& notice) {
  if (sessions() == 0) return;

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
  // per commit with its frames in order.
  std::unordered_map<UserId, std::vector<const InboxEvent*>> by_user;
  for (const auto& e : notice.events) by_user[e.user_id].push_back(&e);
  for (const auto& [user, events] : by_user) {
    Subscribers subs = Lookup(user);
    if (subs.empty()) continue;
    std::vector<Frame> frames;
    frames.reserve(events.size());
    for (const InboxEvent* e : events) {
      frames.push_back(std::make_shared<const std::string>(EventPush(*e, message_json(*e))));
    }
    DeliverTo(subs, frames);
  }

  for (const auto& move : notice.conv_moves) {
    if (!move.members) continue;
    auto frame =
        std::make_shared<const std::string>(HeadPush(move.conv_id, move.last_seq, move.last_ms));
    Broadcast(*move.members, frame, nullptr);
  }
}

void Hub::Broadcast(const std::vector<UserId>& users, const Frame& frame,
                    const Subscriber* except) {
  std::vector<Frame> frames{frame};
  for (UserId user : users) {
    Subscribers subs = Lookup(user);
    if (subs.empty()) continue;
    if (except) {
      subs.erase(std::remove_if(subs.begin(), subs.end(),
                                [except](const auto& s) { return s.get() == except; }),
                 subs.end());
    }
    DeliverTo(subs, frames);
  }
}

}  // namespace parley
