// The exporter: reads a store and writes its records as the lines of export_format.h.
#include "backup/export.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "backup/export_format.h"
#include "common/clock.h"

namespace parley::backup {
namespace {

constexpr size_t kScanPage = 1024;

class Exporter {
 public:
  Exporter(Store& store, const ExportScope& scope, std::ostream& out)
      : store_(store), scope_(scope), out_(out) {}

  Status Run() {
    std::vector<ConvId> convs;
    std::set<UserId> users;  // scoped exports: the users to write, ascending
    Counters counters;
    if (scope_.kind == ExportScope::Kind::kAll) {
      PARLEY_ASSIGN_OR_RETURN(counters, store_.LoadCounters());
    } else {
      PARLEY_RETURN_IF_ERROR(CollectScope(&convs, &users));
    }
    PARLEY_RETURN_IF_ERROR(Line(HeaderLine{kExportFormat, NowMillis(), scope_}));
    if (scope_.kind == ExportScope::Kind::kAll) {
      PARLEY_RETURN_IF_ERROR(WriteAll(counters));
    } else {
      PARLEY_RETURN_IF_ERROR(WriteScoped(users, &convs));
    }
    PARLEY_RETURN_IF_ERROR(Line(EndLine{stats_}));
    out_.flush();
    if (!out_) return Status(Code::kIOError, "writing the export failed");
    return Status::Ok();
  }

  const ExportStats& stats() const { return stats_; }

 private:
  static Status Missing(const Status& st, const char* what, uint64_t id) {
    if (st.code() == Code::kNotFound)
      return NotFound(std::string("no ") + what + " " + std::to_string(id));
    return st;
  }

  // A scoped export: its conversations, and everyone they refer to (members, senders,
  // recallers), so that the export imports on its own.
  Status CollectScope(std::vector<ConvId>* convs, std::set<UserId>* users) {
    if (scope_.kind == ExportScope::Kind::kUser) {
      auto user = store_.GetUser(scope_.user);
      if (!user.ok()) return Missing(user.status(), "user", scope_.user);
      users->insert(scope_.user);
      PARLEY_ASSIGN_OR_RETURN(auto memberships, store_.ListUserConversations(scope_.user));
      for (const auto& m : memberships) convs->push_back(m.conv_id);
    } else {
      auto conv = store_.GetConversation(scope_.conv);
      if (!conv.ok()) return Missing(conv.status(), "conversation", scope_.conv);
      convs->push_back(scope_.conv);
    }
    for (ConvId id : *convs) {
      PARLEY_ASSIGN_OR_RETURN(auto members, store_.ListMembers(id));
      for (const auto& m : members) users->insert(m.user_id);
      PARLEY_RETURN_IF_ERROR(ForEachMessage(id, [&](const MessageRecord& m) {
        users->insert(m.sender);
        if (m.recalled_by != 0) users->insert(m.recalled_by);
        return Status::Ok();
      }));
    }
    return Status::Ok();
  }

  // Everything: ids are dense, handed out by the counters.
  Status WriteAll(const Counters& counters) {
    for (UserId id = 1; id <= counters.last_user_id; ++id) {
      auto user = store_.GetUser(id);
      if (!user.ok() && user.status().code() == Code::kNotFound) continue;
      if (!user.ok()) return user.status();
      PARLEY_RETURN_IF_ERROR(WriteUser(*user));
    }
    // Blocks only in a whole export: a scoped one may not hold the blocked users.
    for (UserId id = 1; id <= counters.last_user_id; ++id) {
      PARLEY_ASSIGN_OR_RETURN(auto blocks, store_.ListBlocks(id));
      for (const BlockRecord& b : blocks) PARLEY_RETURN_IF_ERROR(Line(b));
    }
    for (ConvId id = 1; id <= counters.last_conv_id; ++id) {
      auto conv = store_.GetConversation(id);
      if (!conv.ok() && conv.status().code() == Code::kNotFound) continue;
      if (!conv.ok()) return conv.status();
      PARLEY_RETURN_IF_ERROR(WriteConversation(*conv));
    }
    return Status::Ok();
  }

  Status WriteScoped(const std::set<UserId>& users, std::vector<ConvId>* convs) {
    for (UserId id : users) {
      auto user = store_.GetUser(id);
      if (!user.ok() && user.status().code() == Code::kNotFound) {
        return Status(Code::kCorruption,
                      "user " + std::to_string(id) + " is referred to but does not exist");
      }
      if (!user.ok()) return user.status();
      PARLEY_RETURN_IF_ERROR(WriteUser(*user));
    }
    std::sort(convs->begin(), convs->end());
    for (ConvId id : *convs) {
      PARLEY_ASSIGN_OR_RETURN(auto conv, store_.GetConversation(id));
      PARLEY_RETURN_IF_ERROR(WriteConversation(conv));
    }
    return Status::Ok();
  }

  template <typename Record>
  Status Line(const Record& record) {
    PARLEY_ASSIGN_OR_RETURN(std::string text, EncodeLine(record));
    text += '\n';
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out_) return Status(Code::kIOError, "writing the export failed");
    return Status::Ok();
  }

  Status ForEachMessage(ConvId conv, const std::function<Status(const MessageRecord&)>& fn) {
    for (Seq from = 1;;) {
      PARLEY_ASSIGN_OR_RETURN(auto page, store_.ScanMessages(conv, from, true, kScanPage));
      for (const auto& m : page) PARLEY_RETURN_IF_ERROR(fn(m));
      if (page.size() < kScanPage) return Status::Ok();
      from = page.back().seq + 1;
    }
  }

  Status WriteUser(UserRecord u) {
    PARLEY_ASSIGN_OR_RETURN(Seq last_user_seq, store_.LastUserSeq(u.id));
    if (!scope_.password_hashes) u.password_hash.clear();
    ++stats_.users;
    return Line(UserLine{std::move(u), last_user_seq});
  }

  // The conversation's line, then its members, their read cursors and its messages.
  Status WriteConversation(const ConversationRecord& c) {
    PARLEY_ASSIGN_OR_RETURN(ConvHead head, store_.GetConvHead(c.id));
    PARLEY_ASSIGN_OR_RETURN(auto members, store_.ListMembers(c.id));
    ++stats_.conversations;
    PARLEY_RETURN_IF_ERROR(Line(ConvLine{c, head}));
    for (const auto& m : members) {
      ++stats_.members;
      PARLEY_RETURN_IF_ERROR(Line(m));
    }
    for (const auto& m : members) {
      PARLEY_ASSIGN_OR_RETURN(Seq read, store_.GetReadCursor(m.user_id, c.id));
      if (read == 0) continue;
      ++stats_.read_cursors;
      PARLEY_RETURN_IF_ERROR(Line(CursorLine{m.user_id, c.id, read}));
    }
    return ForEachMessage(c.id, [&](const MessageRecord& m) {
      ++stats_.messages;
      return Line(m);
    });
  }

  Store& store_;
  const ExportScope& scope_;
  std::ostream& out_;
  ExportStats stats_;
};

}  // namespace

Status Export(Store& store, const ExportScope& scope, std::ostream& out, ExportStats* stats) {
  Exporter exporter(store, scope, out);
  Status st = exporter.Run();
  if (stats != nullptr) *stats = exporter.stats();
  return st;
}

}  // namespace parley::backup
