#include "directory.h"

#include <algorithm>
#include <charconv>

namespace parley::cli {

void Directory::Prefetch(const std::vector<UserId>& ids) {
  std::vector<UserId> missing;
  for (UserId id : ids) {
    if (id != 0 && !names_.count(id) && !unknown_.count(id)) missing.push_back(id);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  if (missing.empty()) return;
  client::BlockingClient* c = provider_();
  if (!c) return;
  constexpr size_t kMaxPerCall = 500;  // the protocol's limit for `users`
  for (size_t i = 0; i < missing.size(); i += kMaxPerCall) {
    std::vector<UserId> batch(
        missing.begin() + static_cast<std::ptrdiff_t>(i),
        missing.begin() + static_cast<std::ptrdiff_t>(std::min(missing.size(), i + kMaxPerCall)));
    auto users = c->Users(batch);
    if (!users.ok()) return;
    for (const auto& u : *users) names_[u.id] = u.name;
    for (UserId id : batch) {
      if (!names_.count(id)) unknown_.insert(id);
    }
  }
}

void Directory::PrefetchFor(const std::vector<SyncItem>& items) {
  std::vector<UserId> ids;
  for (const auto& item : items) {
    ids.push_back(item.event.actor);
    ids.push_back(item.event.subject);
    if (item.message) ids.push_back(item.message->sender);
  }
  Prefetch(ids);
}

std::string Directory::UserName(UserId id) {
  if (id == 0) return "?";
  Prefetch({id});
  auto it = names_.find(id);
  return it != names_.end() ? it->second : "user#" + std::to_string(id);
}

Result<UserId> Directory::ResolveUser(const std::string& name_or_id) {
  UserId id = 0;
  const char* end = name_or_id.data() + name_or_id.size();
  auto [ptr, ec] = std::from_chars(name_or_id.data(), end, id);
  if (ec == std::errc() && ptr == end && id != 0) return id;
  for (const auto& [known_id, name] : names_) {
    if (name == name_or_id) return known_id;
  }
  client::BlockingClient* c = provider_();
  if (!c) return client::TransportError("not connected");
  PARLEY_ASSIGN_OR_RETURN(auto users, c->Users({}, {name_or_id}));
  if (users.empty()) return NotFound("no user named '" + name_or_id + "'");
  names_[users[0].id] = users[0].name;
  return users[0].id;
}

bool Directory::LoadConvs() {
  client::BlockingClient* c = provider_();
  if (!c) return false;
  auto convs = c->Convs();
  if (!convs.ok()) return false;
  convs_.clear();
  std::vector<UserId> peers;
  for (const auto& s : *convs) {
    convs_[s.conv.id] = ConvInfo{s.conv.kind, s.conv.title, s.peer};
    peers.push_back(s.peer);
  }
  convs_loaded_ = true;
  Prefetch(peers);
  return true;
}

std::string Directory::ConvLabel(ConvId conv) {
  if (!convs_loaded_) LoadConvs();
  auto it = convs_.find(conv);
  if (it == convs_.end() && refetched_for_.insert(conv).second && LoadConvs()) {
    it = convs_.find(conv);  // a conversation newer than our list
  }
  const std::string id = "#" + std::to_string(conv);
  if (it == convs_.end()) return id;
  const ConvInfo& info = it->second;
  if (info.kind == ConvKind::kGroup) return (info.title.empty() ? "group" : info.title) + " " + id;
  return UserName(info.peer) + " " + id;
}

Result<ConvId> Directory::DirectWith(UserId user) {
  if (!convs_loaded_ && !LoadConvs()) {
    client::BlockingClient* c = provider_();
    if (!c) return client::TransportError("not connected");
    PARLEY_ASSIGN_OR_RETURN(auto convs, c->Convs());  // for its error
    (void)convs;
  }
  for (const auto& [id, info] : convs_) {
    if (info.kind == ConvKind::kDirect && info.peer == user) return id;
  }
  return ConvId{0};
}

}  // namespace parley::cli
