// ForwardingStore: a Store that forwards every call to another. Tests derive from it to
// observe, delay or break single calls (fault injection) while the real store does the
// work.
//
// Thread-safety: as the wrapped store's; what a derived class adds is its own to guard.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace parley::test {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Result<UserRecord> GetUser(UserId id) override { return inner_->GetUser(id); }
  Result<UserId> FindUserByName(std::string_view n) override { return inner_->FindUserByName(n); }
  Result<DeviceRecord> FindDeviceByToken(std::string_view d) override {
    return inner_->FindDeviceByToken(d);
  }
  Result<std::vector<DeviceRecord>> ListDevices(UserId u) override {
    return inner_->ListDevices(u);
  }
  Result<ConversationRecord> GetConversation(ConvId id) override {
    return inner_->GetConversation(id);
  }
  Result<ConvHead> GetConvHead(ConvId id) override { return inner_->GetConvHead(id); }
  Result<ConvId> FindDirect(UserId a, UserId b) override { return inner_->FindDirect(a, b); }
  Result<std::vector<MemberRecord>> ListMembers(ConvId id) override {
    return inner_->ListMembers(id);
  }
  Result<MemberRecord> GetMember(ConvId id, UserId u) override { return inner_->GetMember(id, u); }
  Result<std::vector<MemberRecord>> ListUserConversations(UserId u) override {
    return inner_->ListUserConversations(u);
  }
  Result<MessageRecord> GetMessage(ConvId c, Seq s) override { return inner_->GetMessage(c, s); }
  std::vector<Result<MessageRecord>> GetMessages(std::span<const MessageKey> keys) override {
    return inner_->GetMessages(keys);
  }
  Result<std::vector<MessageRecord>> ScanMessages(ConvId c, Seq from, bool forward,
                                                  size_t limit) override {
    return inner_->ScanMessages(c, from, forward, limit);
  }
  Result<std::vector<InboxEvent>> ScanInbox(UserId u, Seq after, size_t limit) override {
    return inner_->ScanInbox(u, after, limit);
  }
  Result<Seq> LastUserSeq(UserId u) override { return inner_->LastUserSeq(u); }
  Result<Seq> InboxFloor(UserId u) override { return inner_->InboxFloor(u); }
  Status TrimInbox(UserId u, Seq floor) override { return inner_->TrimInbox(u, floor); }
  Result<Seq> GetReadCursor(UserId u, ConvId c) override { return inner_->GetReadCursor(u, c); }
  Result<Seq> GetDeviceCursor(UserId u, std::string_view d) override {
    return inner_->GetDeviceCursor(u, d);
  }
  Result<DedupRecord> GetDedup(UserId s, std::string_view id, int64_t now) override {
    return inner_->GetDedup(s, id, now);
  }
  Result<std::vector<ChangeRecord>> ScanChanges(uint64_t after, size_t limit) override {
    return inner_->ScanChanges(after, limit);
  }
  Result<BlockRecord> GetBlock(UserId a, UserId b) override { return inner_->GetBlock(a, b); }
  Result<std::vector<BlockRecord>> ListBlocks(UserId a) override { return inner_->ListBlocks(a); }
  Result<Counters> LoadCounters() override { return inner_->LoadCounters(); }
  Status Apply(const WriteSet& writes, Durability d) override { return inner_->Apply(writes, d); }
  StoreStats Stats() override { return inner_->Stats(); }
  Result<InviteRecord> GetInvite(std::string_view d) override { return inner_->GetInvite(d); }
  Status PutInvite(const InviteRecord& i) override { return inner_->PutInvite(i); }
  Status DeleteInvite(std::string_view d) override { return inner_->DeleteInvite(d); }

 private:
  std::unique_ptr<Store> inner_;
};

}  // namespace parley::test
