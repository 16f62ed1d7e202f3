#include "backup/export.h"

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/text.h"
#include "model/names.h"
#include "store/record_codec.h"

namespace parley::backup {
namespace {

// Insertion-ordered, so that "type" leads every line.
using Json = nlohmann::ordered_json;

constexpr size_t kScanPage = 1024;

// ---------------------------------------------------------------------------------------
// Export

class Exporter {
 public:
  Exporter(Store& store, const ExportScope& scope, std::ostream& out)
      : store_(store), scope_(scope), out_(out) {}

  Status Run() {
    std::vector<ConvId> convs;
    std::set<UserId> users;  // scoped exports: the users to write, ascending
    Counters counters;
    switch (scope_.kind) {
      case ExportScope::Kind::kAll: {
        PARLEY_ASSIGN_OR_RETURN(counters, store_.LoadCounters());
        break;
      }
      case ExportScope::Kind::kUser: {
        auto user = store_.GetUser(scope_.user);
        if (!user.ok()) return Missing(user.status(), "user", scope_.user);
        users.insert(scope_.user);
        PARLEY_ASSIGN_OR_RETURN(auto memberships, store_.ListUserConversations(scope_.user));
        for (const auto& m : memberships) convs.push_back(m.conv_id);
        break;
      }
      case ExportScope::Kind::kConversation: {
        auto conv = store_.GetConversation(scope_.conv);
        if (!conv.ok()) return Missing(conv.status(), "conversation", scope_.conv);
        convs.push_back(scope_.conv);
        break;
      }
    }
    if (scope_.kind != ExportScope::Kind::kAll) {
      // Everyone the conversations refer to, so that the export imports on its own.
      for (ConvId id : convs) {
        PARLEY_ASSIGN_OR_RETURN(auto members, store_.ListMembers(id));
        for (const auto& m : members) users.insert(m.user_id);
        PARLEY_RETURN_IF_ERROR(ForEachMessage(id, [&](const MessageRecord& m) {
          users.insert(m.sender);
          if (m.recalled_by != 0) users.insert(m.recalled_by);
          return Status::Ok();
        }));
      }
    }

    Json header{{"type", "parley_export"}, {"format", kExportFormat}, {"exported_ms", NowMillis()}};
    switch (scope_.kind) {
      case ExportScope::Kind::kAll:
        header["scope"] = "all";
        break;
      case ExportScope::Kind::kUser:
        header["scope"] = "user";
        header["user"] = scope_.user;
        break;
      case ExportScope::Kind::kConversation:
        header["scope"] = "conversation";
        header["conv"] = scope_.conv;
        break;
    }
    PARLEY_RETURN_IF_ERROR(Line(header));

    if (scope_.kind == ExportScope::Kind::kAll) {
      // Ids are dense, handed out by the counters.
      for (UserId id = 1; id <= counters.last_user_id; ++id) {
        auto user = store_.GetUser(id);
        if (!user.ok() && user.status().code() == Code::kNotFound) continue;
        if (!user.ok()) return user.status();
        PARLEY_RETURN_IF_ERROR(WriteUser(*user));
      }
      // Blocks only in a whole export: a scoped one may not hold the blocked users.
      for (UserId id = 1; id <= counters.last_user_id; ++id) {
        PARLEY_ASSIGN_OR_RETURN(auto blocks, store_.ListBlocks(id));
        for (const BlockRecord& b : blocks) {
          PARLEY_RETURN_IF_ERROR(Line(Json{{"type", "block"},
                                           {"user", b.blocker},
                                           {"blocked", b.blocked},
                                           {"created_ms", b.created_ms}}));
        }
      }
      for (ConvId id = 1; id <= counters.last_conv_id; ++id) {
        auto conv = store_.GetConversation(id);
        if (!conv.ok() && conv.status().code() == Code::kNotFound) continue;
        if (!conv.ok()) return conv.status();
        PARLEY_RETURN_IF_ERROR(WriteConversation(*conv));
      }
    } else {
      for (UserId id : users) {
        auto user = store_.GetUser(id);
        if (!user.ok() && user.status().code() == Code::kNotFound) {
          return Status(Code::kCorruption,
                        "user " + std::to_string(id) + " is referred to but does not exist");
        }
        if (!user.ok()) return user.status();
        PARLEY_RETURN_IF_ERROR(WriteUser(*user));
      }
      std::sort(convs.begin(), convs.end());
      for (ConvId id : convs) {
        PARLEY_ASSIGN_OR_RETURN(auto conv, store_.GetConversation(id));
        PARLEY_RETURN_IF_ERROR(WriteConversation(conv));
      }
    }

    PARLEY_RETURN_IF_ERROR(Line(Json{{"type", "end"},
                                     {"users", stats_.users},
                                     {"conversations", stats_.conversations},
                                     {"members", stats_.members},
                                     {"read_cursors", stats_.read_cursors},
                                     {"messages", stats_.messages}}));
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

  Status Line(const Json& j) {
    std::string text;
    try {
      text = j.dump();
    } catch (const Json::exception& e) {
      // Only invalid UTF-8 can fail here; the services never store it.
      return Status(Code::kCorruption, std::string("cannot encode a record: ") + e.what());
    }
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

  Status WriteUser(const UserRecord& u) {
    PARLEY_ASSIGN_OR_RETURN(Seq last_user_seq, store_.LastUserSeq(u.id));
    Json line{{"type", "user"},
              {"id", u.id},
              {"name", u.name},
              {"password_hash", scope_.password_hashes ? u.password_hash : std::string()},
              {"created_ms", u.created_ms}};
    if (last_user_seq != 0) line["last_user_seq"] = last_user_seq;
    ++stats_.users;
    return Line(line);
  }

  Status WriteConversation(const ConversationRecord& c) {
    PARLEY_ASSIGN_OR_RETURN(ConvHead head, store_.GetConvHead(c.id));
    PARLEY_ASSIGN_OR_RETURN(auto members, store_.ListMembers(c.id));
    Json line{{"type", "conversation"}, {"id", c.id}, {"kind", ConvKindName(c.kind)}};
    if (!c.title.empty()) line["title"] = c.title;
    if (c.owner != 0) line["owner"] = c.owner;
    line["created_ms"] = c.created_ms;
    if (c.read_fanout) line["read_fanout"] = true;
    if (c.hidden_from != 0) line["hidden_from"] = c.hidden_from;
    line["last_seq"] = head.last_seq;
    line["last_ms"] = head.last_ms;
    line["last_gseq"] = head.last_gseq;
    ++stats_.conversations;
    PARLEY_RETURN_IF_ERROR(Line(line));

    for (const auto& m : members) {
      ++stats_.members;
      PARLEY_RETURN_IF_ERROR(Line(Json{{"type", "member"},
                                       {"conv", c.id},
                                       {"user", m.user_id},
                                       {"role", RoleName(m.role)},
                                       {"joined_ms", m.joined_ms}}));
    }
    for (const auto& m : members) {
      PARLEY_ASSIGN_OR_RETURN(Seq read, store_.GetReadCursor(m.user_id, c.id));
      if (read == 0) continue;
      ++stats_.read_cursors;
      PARLEY_RETURN_IF_ERROR(
          Line(Json{{"type", "read_cursor"}, {"user", m.user_id}, {"conv", c.id}, {"seq", read}}));
    }
    return ForEachMessage(c.id, [&](const MessageRecord& m) {
      Json msg{{"type", "message"},
               {"conv", m.conv_id},
               {"seq", m.seq},
               {"msg_id", m.msg_id},
               {"sender", m.sender},
               {"sender_device", m.sender_device},
               {"client_msg_id", m.client_msg_id},
               {"kind", MessageKindName(m.kind)},
               {"body", m.body},
               {"server_ms", m.server_ms}};
      if (m.edited_ms != 0) msg["edited_ms"] = m.edited_ms;
      if (m.recalled) {
        msg["recalled"] = true;
        msg["recalled_by"] = m.recalled_by;
        msg["recalled_ms"] = m.recalled_ms;
      }
      ++stats_.messages;
      return Line(msg);
    });
  }

  Store& store_;
  const ExportScope& scope_;
  std::ostream& out_;
  ExportStats stats_;
};

// ---------------------------------------------------------------------------------------
// Import: parsing

Status Bad(size_t line, const std::string& message) {
  return InvalidArgument("line " + std::to_string(line) + ": " + message);
}

// Typed access to one line's fields; the first problem is kept in error().
class Fields {
 public:
  explicit Fields(const Json& j) : j_(j) {}

  uint64_t U64(const char* key, bool required = true) {
    const Json* v = Find(key, required);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned()) {
      Fail(key, "a non-negative integer");
      return 0;
    }
    return v->get<uint64_t>();
  }
  int64_t I64(const char* key, bool required = true) {
    const Json* v = Find(key, required);
    if (v == nullptr) return 0;
    if (!v->is_number_integer() ||
        (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
      Fail(key, "an integer");
      return 0;
    }
    return v->get<int64_t>();
  }
  std::string Str(const char* key, bool required = true) {
    const Json* v = Find(key, required);
    if (v == nullptr) return {};
    if (!v->is_string()) {
      Fail(key, "a string");
      return {};
    }
    return v->get<std::string>();
  }
  bool Bool(const char* key) {
    const Json* v = Find(key, false);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      Fail(key, "true or false");
      return false;
    }
    return v->get<bool>();
  }
  // A positive id.
  uint64_t Id(const char* key) {
    uint64_t id = U64(key);
    if (id == 0 && error_.empty()) error_ = std::string("\"") + key + "\" must not be 0";
    return id;
  }

  const std::string& error() const { return error_; }

 private:
  const Json* Find(const char* key, bool required) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      if (required && error_.empty()) error_ = std::string("field \"") + key + "\" is missing";
      return nullptr;
    }
    return &*it;
  }
  void Fail(const char* key, const char* want) {
    if (error_.empty()) error_ = std::string("field \"") + key + "\" must be " + want;
  }

  const Json& j_;
  std::string error_;
};

struct HeaderLine {
  uint64_t format = 0;
};
struct UserLine {
  UserRecord user;
  Seq last_user_seq = 0;
};
struct ConvLine {
  ConversationRecord conv;
  ConvHead head;
};
struct CursorLine {
  UserId user = 0;
  ConvId conv = 0;
  Seq seq = 0;
};
struct EndLine {
  uint64_t users = 0;
  uint64_t conversations = 0;
  uint64_t members = 0;
  uint64_t read_cursors = 0;
  uint64_t messages = 0;
};
using Parsed = std::variant<HeaderLine, UserLine, ConvLine, MemberRecord, CursorLine, MessageRecord,
                            EndLine, BlockRecord>;

Result<Parsed> ParseLine(const std::string& text, size_t line) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return Bad(line, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) return Bad(line, "not a JSON object");
  auto type_it = j.find("type");
  if (type_it == j.end() || !type_it->is_string()) {
    return Bad(line, "no \"type\" field");
  }
  const std::string type = type_it->get<std::string>();
  Fields f(j);
  Parsed out;
  if (type == "parley_export") {
    out = HeaderLine{f.U64("format")};
  } else if (type == "user") {
    UserLine u;
    u.user.id = f.Id("id");
    u.user.name = f.Str("name");
    u.user.password_hash = f.Str("password_hash");
    u.user.created_ms = f.I64("created_ms");
    u.last_user_seq = f.U64("last_user_seq", false);
    out = std::move(u);
  } else if (type == "conversation") {
    ConvLine c;
    c.conv.id = f.Id("id");
    const std::string kind = f.Str("kind");
    c.conv.title = f.Str("title", false);
    c.conv.owner = f.U64("owner", false);
    c.conv.created_ms = f.I64("created_ms");
    c.conv.read_fanout = f.Bool("read_fanout");
    c.conv.hidden_from = f.U64("hidden_from", false);
    c.head.last_seq = f.U64("last_seq");
    c.head.last_ms = f.I64("last_ms");
    c.head.last_gseq = f.U64("last_gseq");
    if (f.error().empty()) {
      if (kind == "direct") {
        c.conv.kind = ConvKind::kDirect;
      } else if (kind == "group") {
        c.conv.kind = ConvKind::kGroup;
      } else {
        return Bad(line, "conversation kind must be \"direct\" or \"group\"");
      }
    }
    out = std::move(c);
  } else if (type == "member") {
    MemberRecord m;
    m.conv_id = f.Id("conv");
    m.user_id = f.Id("user");
    const std::string role = f.Str("role");
    m.joined_ms = f.I64("joined_ms");
    if (f.error().empty()) {
      if (role == "owner") {
        m.role = Role::kOwner;
      } else if (role == "admin") {
        m.role = Role::kAdmin;
      } else if (role == "member") {
        m.role = Role::kMember;
      } else {
        return Bad(line, "role must be \"owner\", \"admin\" or \"member\"");
      }
    }
    out = m;
  } else if (type == "read_cursor") {
    CursorLine c;
    c.user = f.Id("user");
    c.conv = f.Id("conv");
    c.seq = f.Id("seq");
    out = c;
  } else if (type == "message") {
    MessageRecord m;
    m.conv_id = f.Id("conv");
    m.seq = f.Id("seq");
    m.msg_id = f.Id("msg_id");
    m.sender = f.Id("sender");
    m.sender_device = f.Str("sender_device", false);
    m.client_msg_id = f.Str("client_msg_id", false);
    const std::string kind = f.Str("kind");
    m.body = f.Str("body");
    m.server_ms = f.I64("server_ms");
    m.edited_ms = f.I64("edited_ms", false);
    m.recalled = f.Bool("recalled");
    m.recalled_by = f.U64("recalled_by", false);
    m.recalled_ms = f.I64("recalled_ms", false);
    if (f.error().empty()) {
      if (kind == "text") {
        m.kind = MessageKind::kText;
      } else if (kind == "custom") {
        m.kind = MessageKind::kCustom;
      } else {
        return Bad(line, "message kind must be \"text\" or \"custom\"");
      }
    }
    out = std::move(m);
  } else if (type == "block") {
    BlockRecord b;
    b.blocker = f.Id("user");
    b.blocked = f.Id("blocked");
    b.created_ms = f.I64("created_ms");
    out = b;
  } else if (type == "end") {
    EndLine e;
    e.users = f.U64("users");
    e.conversations = f.U64("conversations");
    e.members = f.U64("members");
    e.read_cursors = f.U64("read_cursors");
    e.messages = f.U64("messages");
    out = e;
  } else {
    return Bad(line, "unknown record type \"" + type + "\"");
  }
  if (!f.error().empty()) return Bad(line, type + ": " + f.error());
  return out;
}

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// ---------------------------------------------------------------------------------------
// Import: checking and writing

// What the inbox rebuild needs of a message.
struct MessageBrief {
  uint64_t msg_id = 0;
  UserId sender = 0;
  int64_t server_ms = 0;
};

struct MemberBrief {
  UserId user = 0;
  Role role = Role::kMember;
  int64_t joined_ms = 0;
  Seq read = 0;  // read cursor, 0 if none
};

struct ConvInfo {
  ConversationRecord conv;
  ConvHead head;
  size_t line = 0;
  std::vector<MemberBrief> members;
  std::unordered_map<UserId, size_t> member_index;  // into `members`
  std::vector<MessageBrief> messages;               // messages[i] has seq i + 1
};

class Importer {
 public:
  Importer(Store& store, std::istream& in, const ImportOptions& options)
      : store_(store), in_(in), options_(options) {}

  Status Run() {
    const std::istream::pos_type start = in_.tellg();
    if (start == std::istream::pos_type(-1)) {
      return InvalidArgument("import reads its input twice: give it a file, not a pipe");
    }
    PARLEY_RETURN_IF_ERROR(CheckStoreEmpty());
    PARLEY_RETURN_IF_ERROR(Check());
    PARLEY_RETURN_IF_ERROR(CheckNoClash());

    Status st = Write(start);
    if (!st.ok()) {
      return Status(st.code(), st.message() +
                                   " (the import stopped midway and the store is incomplete: "
                                   "delete it and import again)");
    }
    return Status::Ok();
  }

  const ImportStats& stats() const { return stats_; }

 private:
  // --- pass 1: read and check everything, keep what the rebuild needs

  Status CheckStoreEmpty() {
    PARLEY_ASSIGN_OR_RETURN(Counters c, store_.LoadCounters());
    PARLEY_ASSIGN_OR_RETURN(auto changes, store_.ScanChanges(0, 1));
    if (c.last_user_id != 0 || c.last_conv_id != 0 || c.last_gseq != 0 || !changes.empty()) {
      return Status(Code::kFailedPrecondition,
                    "the store is not empty (" + std::to_string(c.last_user_id) + " users, " +
                        std::to_string(c.last_conv_id) +
                        " conversations): import needs a new data directory");
    }
    return Status::Ok();
  }

  Status Check() {
    std::string text;
    size_t line = 0;
    bool header = false;
    bool ended = false;
    while (std::getline(in_, text)) {
      ++line;
      if (IsBlank(text)) continue;
      if (ended) return Bad(line, "data after the \"end\" line");
      auto parsed = ParseLine(text, line);
      if (!header) {
        const auto* h = parsed.ok() ? std::get_if<HeaderLine>(&*parsed) : nullptr;
        if (h == nullptr) {
          return Bad(line,
                     "not a Parley export: the first line must be the \"parley_export\" header");
        }
        if (h->format != static_cast<uint64_t>(kExportFormat)) {
          return Bad(line, "export format " + std::to_string(h->format) +
                               " is not supported (this version reads format " +
                               std::to_string(kExportFormat) + ")");
        }
        header = true;
        continue;
      }
      if (!parsed.ok()) return parsed.status();
      Status st = std::visit(
          [&](auto& record) -> Status {
            using T = std::decay_t<decltype(record)>;
            if constexpr (std::is_same_v<T, HeaderLine>) {
              return Bad(line, "a second \"parley_export\" header");
            } else if constexpr (std::is_same_v<T, EndLine>) {
              ended = true;
              return CheckEnd(record, line);
            } else {
              return Take(record, line);
            }
          },
          *parsed);
      PARLEY_RETURN_IF_ERROR(st);
    }
    if (in_.bad()) return Status(Code::kIOError, "reading the import failed");
    if (!header) return InvalidArgument("empty input: not a Parley export");
    if (!ended) return Bad(line, "the export is truncated: it has no \"end\" line");
    return CheckTotals();
  }

  bool KnownUser(UserId id) const { return users_.count(id) != 0; }

  Result<ConvInfo*> KnownConv(ConvId id, size_t line) {
    auto it = convs_.find(id);
    if (it == convs_.end()) {
      return Bad(line, "conversation " + std::to_string(id) + " has not been defined above");
    }
    return &it->second;
  }

  Status UnknownUser(UserId id, size_t line) {
    return Bad(line, "user " + std::to_string(id) + " has not been defined above");
  }

  Status Take(UserLine& line_record, size_t line) {
    UserRecord& u = line_record.user;
    if (KnownUser(u.id)) return Bad(line, "user " + std::to_string(u.id) + " appears twice");
    if (u.name.empty() || NormalizeUserName(u.name) != u.name) {
      return Bad(line, "\"" + u.name + "\" is not a valid (normalised) user name");
    }
    if (!names_.insert(u.name).second)
      return Bad(line, "user name \"" + u.name + "\" appears twice");
    if (!u.password_hash.empty() && u.password_hash.rfind("$argon2id$", 0) != 0) {
      return Bad(line, "password_hash must be an Argon2id hash (\"$argon2id$…\") or \"\"");
    }
    if (line_record.last_user_seq != 0) last_user_seq_[u.id] = line_record.last_user_seq;
    users_.emplace(u.id, std::move(u));
    return Status::Ok();
  }

  Status Take(BlockRecord& b, size_t line) {
    if (!KnownUser(b.blocker)) return UnknownUser(b.blocker, line);
    if (!KnownUser(b.blocked)) return UnknownUser(b.blocked, line);
    if (b.blocker == b.blocked) return Bad(line, "a user cannot block themselves");
    if (!block_keys_.insert({b.blocker, b.blocked}).second) {
      return Bad(line, "block of " + std::to_string(b.blocked) + " by " +
                           std::to_string(b.blocker) + " appears twice");
    }
    blocks_.push_back(b);
    return Status::Ok();
  }

  Status Take(ConvLine& c, size_t line) {
    if (convs_.count(c.conv.id)) {
      return Bad(line, "conversation " + std::to_string(c.conv.id) + " appears twice");
    }
    if (c.conv.owner != 0 && !KnownUser(c.conv.owner)) return UnknownUser(c.conv.owner, line);
    ConvInfo& info = convs_[c.conv.id];
    info.conv = std::move(c.conv);
    info.head = c.head;
    info.line = line;
    return Status::Ok();
  }

  Status Take(MemberRecord& m, size_t line) {
    PARLEY_ASSIGN_OR_RETURN(ConvInfo * conv, KnownConv(m.conv_id, line));
    if (!KnownUser(m.user_id)) return UnknownUser(m.user_id, line);
    if (!conv->member_index.emplace(m.user_id, conv->members.size()).second) {
      return Bad(line, "user " + std::to_string(m.user_id) + " is a member of conversation " +
                           std::to_string(m.conv_id) + " twice");
    }
    conv->members.push_back(MemberBrief{m.user_id, m.role, m.joined_ms, 0});
    ++members_;
    return Status::Ok();
  }

  Status Take(CursorLine& c, size_t line) {
    PARLEY_ASSIGN_OR_RETURN(ConvInfo * conv, KnownConv(c.conv, line));
    auto it = conv->member_index.find(c.user);
    if (it == conv->member_index.end()) {
      return Bad(line, "read cursor of user " + std::to_string(c.user) +
                           ", who is not a member of conversation " + std::to_string(c.conv) +
                           " (members come before read cursors)");
    }
    MemberBrief& member = conv->members[it->second];
    if (member.read != 0)
      return Bad(line, "a second read cursor for the same user and conversation");
    if (c.seq > conv->head.last_seq) {
      return Bad(line, "read cursor " + std::to_string(c.seq) +
                           " is past the conversation's last message " +
                           std::to_string(conv->head.last_seq));
    }
    member.read = c.seq;
    ++read_cursors_;
    return Status::Ok();
  }

  Status Take(MessageRecord& m, size_t line) {
    PARLEY_ASSIGN_OR_RETURN(ConvInfo * conv, KnownConv(m.conv_id, line));
    const Seq expected = conv->messages.size() + 1;
    if (m.seq != expected) {
      return Bad(line, "message " + std::to_string(m.seq) + " of conversation " +
                           std::to_string(m.conv_id) + " out of order: expected seq " +
                           std::to_string(expected));
    }
    if (m.seq > conv->head.last_seq) {
      return Bad(line, "message " + std::to_string(m.seq) +
                           " is past the conversation's last_seq " +
                           std::to_string(conv->head.last_seq));
    }
    if (!KnownUser(m.sender)) return UnknownUser(m.sender, line);
    if (m.recalled) {
      if (!m.body.empty()) return Bad(line, "a recalled message must have an empty body");
      if (m.recalled_by != 0 && !KnownUser(m.recalled_by)) return UnknownUser(m.recalled_by, line);
    } else if (m.kind == MessageKind::kText && m.body.empty()) {
      return Bad(line, "empty text message");
    }
    conv->messages.push_back(MessageBrief{m.msg_id, m.sender, m.server_ms});
    msg_ids_.emplace_back(m.msg_id, line);
    ++messages_;
    return Status::Ok();
  }

  Status CheckEnd(const EndLine& e, size_t line) {
    auto check = [&](const char* what, uint64_t said, uint64_t got) -> Status {
      if (said == got) return Status::Ok();
      return Bad(line, "the \"end\" line counts " + std::to_string(said) + " " + what +
                           " but the file holds " + std::to_string(got) + " (a damaged export?)");
    };
    PARLEY_RETURN_IF_ERROR(check("users", e.users, users_.size()));
    PARLEY_RETURN_IF_ERROR(check("conversations", e.conversations, convs_.size()));
    PARLEY_RETURN_IF_ERROR(check("members", e.members, members_));
    PARLEY_RETURN_IF_ERROR(check("read cursors", e.read_cursors, read_cursors_));
    return check("messages", e.messages, messages_);
  }

  // Whole-file checks, once everything is read.
  Status CheckTotals() {
    std::map<std::pair<UserId, UserId>, ConvId> direct_pairs;
    for (const auto& [id, conv] : convs_) {
      if (conv.messages.size() != conv.head.last_seq) {
        return Bad(conv.line, "conversation " + std::to_string(id) + " has last_seq " +
                                  std::to_string(conv.head.last_seq) + " but the file holds " +
                                  std::to_string(conv.messages.size()) + " of its messages");
      }
      if (conv.conv.kind == ConvKind::kDirect && conv.members.size() != 2) {
        return Bad(conv.line, "direct conversation " + std::to_string(id) + " has " +
                                  std::to_string(conv.members.size()) +
                                  " members (it needs exactly 2)");
      }
      if (conv.conv.hidden_from != 0 &&
          (conv.conv.kind != ConvKind::kDirect || conv.head.last_seq != 0 ||
           !conv.member_index.count(conv.conv.hidden_from))) {
        return Bad(conv.line, "hidden_from of conversation " + std::to_string(id) +
                                  " needs a direct conversation without messages and one of "
                                  "its members");
      }
      if (conv.conv.kind == ConvKind::kDirect) {
        const UserId a = conv.members[0].user, b = conv.members[1].user;
        auto [it, fresh] = direct_pairs.emplace(std::minmax(a, b), id);
        if (!fresh) {
          return Bad(conv.line, "direct conversation " + std::to_string(id) +
                                    " is between the same users as " + std::to_string(it->second));
        }
      }
    }
    std::sort(msg_ids_.begin(), msg_ids_.end());
    for (size_t i = 1; i < msg_ids_.size(); ++i) {
      if (msg_ids_[i].first == msg_ids_[i - 1].first) {
        return Bad(std::max(msg_ids_[i].second, msg_ids_[i - 1].second),
                   "msg_id " + std::to_string(msg_ids_[i].first) + " is used twice (also on line " +
                       std::to_string(std::min(msg_ids_[i].second, msg_ids_[i - 1].second)) + ")");
      }
    }
    return Status::Ok();
  }

  // The store was empty before the check, but make sure nothing of the file is there.
  Status CheckNoClash() {
    auto clash = [](const std::string& what) {
      return Status(Code::kFailedPrecondition,
                    "the store already holds " + what + ": import needs a new data directory");
    };
    for (const auto& [id, u] : users_) {
      auto found = store_.GetUser(id);
      if (found.ok()) return clash("user " + std::to_string(id));
      if (found.status().code() != Code::kNotFound) return found.status();
      auto named = store_.FindUserByName(u.name);
      if (named.ok()) return clash("a user named " + u.name);
      if (named.status().code() != Code::kNotFound) return named.status();
    }
    for (const auto& [id, c] : convs_) {
      auto found = store_.GetConversation(id);
      if (found.ok()) return clash("conversation " + std::to_string(id));
      if (found.status().code() != Code::kNotFound) return found.status();
    }
    return Status::Ok();
  }

  // --- writing

  Status Write(std::istream::pos_type start) {
    for (const auto& [id, u] : users_) {
      PARLEY_RETURN_IF_ERROR(Add(op::PutUser{u}, u.password_hash.size()));
      ++stats_.users;
    }
    for (const BlockRecord& b : blocks_) PARLEY_RETURN_IF_ERROR(Add(op::PutBlock{b}, 0));
    PARLEY_RETURN_IF_ERROR(WriteMessages(start));
    PARLEY_RETURN_IF_ERROR(WriteConversations());
    PARLEY_RETURN_IF_ERROR(WriteInboxes());
    PARLEY_RETURN_IF_ERROR(WriteInboxFloors());

    Counters counters;
    if (!users_.empty()) counters.last_user_id = users_.rbegin()->first;
    if (!convs_.empty()) counters.last_conv_id = convs_.rbegin()->first;
    if (!msg_ids_.empty()) counters.last_gseq = msg_ids_.back().first;  // sorted
    for (const auto& [id, conv] : convs_) {
      counters.last_gseq = std::max(counters.last_gseq, conv.head.last_gseq);
    }
    batch_.Add(op::PutCounters{counters});
    // The synced write makes every earlier buffered batch durable too.
    return Flush(Durability::kSync);
  }

  // Pass 2: the messages, read again (they are the bulk), with their change-feed entries
  // and dedup records.
  Status WriteMessages(std::istream::pos_type start) {
    in_.clear();
    in_.seekg(start);
    if (!in_) return Status(Code::kIOError, "cannot read the import a second time");
    const int64_t now = NowMillis();
    std::string text;
    size_t line = 0;
    while (std::getline(in_, text)) {
      ++line;
      if (IsBlank(text)) continue;
      auto parsed = ParseLine(text, line);
      if (!parsed.ok()) {
        return Status(Code::kInternal,
                      "the input changed while importing: " + parsed.status().message());
      }
      auto* m = std::get_if<MessageRecord>(&*parsed);
      if (m == nullptr) continue;
      const size_t bytes = m->body.size() + m->sender_device.size() + m->client_msg_id.size();
      PARLEY_RETURN_IF_ERROR(Add(op::PutChange{ChangeRecord{m->msg_id, ChangeKind::kMessage,
                                                            m->conv_id, m->seq, m->server_ms}},
                                 0));
      const int64_t expires = m->server_ms + options_.dedup_ttl_ms;
      if (!m->client_msg_id.empty() && expires > now) {
        // The request digest only while the body is still the one sent; an edited or
        // recalled message leaves it empty (then only its conversation and kind are checked).
        DedupRecord dedup{m->conv_id, m->seq, m->msg_id, m->server_ms, expires, ""};
        if (!m->recalled && m->edited_ms == 0)
          dedup.request_digest = SendRequestDigest(m->kind, m->body);
        PARLEY_RETURN_IF_ERROR(Add(op::PutDedup{m->sender, m->client_msg_id, std::move(dedup)},
                                   m->client_msg_id.size()));
      }
      PARLEY_RETURN_IF_ERROR(Add(op::PutMessage{std::move(*m)}, bytes));
      ++stats_.messages;
    }
    if (in_.bad()) return Status(Code::kIOError, "reading the import failed");
    if (stats_.messages != messages_) {
      return Status(Code::kInternal, "the input changed while importing");
    }
    return Status::Ok();
  }

  Status WriteConversations() {
    for (auto& [id, info] : convs_) {
      ConversationRecord conv = info.conv;
      conv.member_count = static_cast<uint32_t>(info.members.size());
      PARLEY_RETURN_IF_ERROR(Add(op::PutConversation{conv}, conv.title.size()));
      PARLEY_RETURN_IF_ERROR(Add(op::PutConvHead{id, info.head}, 0));
      if (conv.kind == ConvKind::kDirect) {
        UserId a = info.members[0].user, b = info.members[1].user;
        PARLEY_RETURN_IF_ERROR(Add(op::PutDirectPair{std::min(a, b), std::max(a, b), id}, 0));
      }
      for (const MemberBrief& m : info.members) {
        PARLEY_RETURN_IF_ERROR(
            Add(op::PutMember{MemberRecord{id, m.user, m.role, m.joined_ms, conv.read_fanout}}, 0));
        if (m.read != 0) {
          PARLEY_RETURN_IF_ERROR(Add(op::PutReadCursor{m.user, id, m.read}, 0));
          ++stats_.read_cursors;
        }
        ++stats_.members;
      }
      ++stats_.conversations;
    }
    return Status::Ok();
  }

  // Each member's sync timeline, rebuilt in time order.
  Status WriteInboxes() {
    std::map<UserId, std::vector<std::pair<const ConvInfo*, const MemberBrief*>>> memberships;
    for (const auto& [id, info] : convs_) {
      for (const MemberBrief& m : info.members) {
        // Still hidden from this member (opened by the peer, no message): no event yet,
        // and a user with nothing else counts as in no conversation (an inbox floor).
        if (info.conv.hidden_from == m.user) continue;
        memberships[m.user].emplace_back(&info, &m);
      }
    }
    struct Item {
      int rank;  // at the same time: joins, then messages, then cursors
      InboxEvent event;
    };
    std::vector<Item> items;
    for (const auto& [user, convs] : memberships) {
      items.clear();
      for (const auto& [info, me] : convs) {
        const ConvId conv = info->conv.id;
        const auto& msgs = info->messages;
        // The messages sent since the member joined (server time never goes back along
        // a conversation, so this is a prefix/suffix split).
        const size_t joined_at = std::partition_point(msgs.begin(), msgs.end(),
                                                      [&](const MessageBrief& b) {
                                                        return b.server_ms < me->joined_ms;
                                                      }) -
                                 msgs.begin();
        InboxEvent e{};
        e.user_id = user;
        e.type = EventType::kMemberJoined;
        e.conv_id = conv;
        e.conv_seq = joined_at;
        e.actor =
            info->conv.kind == ConvKind::kGroup && info->conv.owner != 0 ? info->conv.owner : user;
        e.subject = user;
        e.ms = me->joined_ms;
        items.push_back(Item{0, e});
        if (!info->conv.read_fanout) {
          for (size_t i = joined_at; i < msgs.size(); ++i) {
            InboxEvent m{};
            m.user_id = user;
            m.type = EventType::kMessage;
            m.conv_id = conv;
            m.conv_seq = i + 1;
            m.actor = msgs[i].sender;
            m.ms = msgs[i].server_ms;
            m.gseq = msgs[i].msg_id;
            items.push_back(Item{1, m});
          }
        }
        auto cursor_event = [&](EventType type, UserId reader, Seq seq) {
          InboxEvent c{};
          c.user_id = user;
          c.type = type;
          c.conv_id = conv;
          c.conv_seq = seq;
          c.actor = reader;
          // Not before the join: a member who left and came back keeps the old cursor.
          c.ms = std::max(msgs[seq - 1].server_ms, me->joined_ms);
          items.push_back(Item{2, c});
        };
        if (me->read != 0) cursor_event(EventType::kRead, user, me->read);
        if (info->conv.kind == ConvKind::kDirect) {
          for (const MemberBrief& peer : info->members) {
            if (peer.user != user && peer.read != 0) {
              cursor_event(EventType::kReceipt, peer.user, peer.read);
            }
          }
        }
      }
      std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        return std::tie(a.event.ms, a.rank, a.event.gseq, a.event.conv_id, a.event.conv_seq,
                        a.event.type) < std::tie(b.event.ms, b.rank, b.event.gseq, b.event.conv_id,
                                                 b.event.conv_seq, b.event.type);
      });
      // After the user's last user_seq on the old server, so that a device which kept
      // its cursor across the move gets the rebuilt events again rather than missing
      // the new ones until the new timeline outgrows its cursor.
      auto old = last_user_seq_.find(user);
      Seq user_seq = old == last_user_seq_.end() ? 0 : old->second;
      for (Item& item : items) {
        item.event.user_seq = ++user_seq;
        PARLEY_RETURN_IF_ERROR(Add(op::PutInboxEvent{item.event}, 0));
      }
      stats_.inbox_events += items.size();
    }
    // Users in no conversation keep their old last user_seq as an inbox floor (below).
    for (const auto& [user, last] : last_user_seq_) {
      if (memberships.count(user)) continue;
      InboxEvent placeholder{};
      placeholder.user_id = user;
      placeholder.user_seq = last;
      placeholder.type = EventType::kMemberLeft;
      PARLEY_RETURN_IF_ERROR(Add(op::PutInboxEvent{placeholder}, 0));
      floors_.push_back(user);
    }
    return Status::Ok();
  }

  // A user with no event to rebuild still continues after the old last user_seq: the
  // floor is the only record of it when the inbox is empty, and trimming writes it. The
  // placeholder event at that user_seq (WriteInboxes) gives the trim its end and goes.
  Status WriteInboxFloors() {
    if (floors_.empty()) return Status::Ok();
    PARLEY_RETURN_IF_ERROR(Flush(Durability::kBuffered));
    for (UserId user : floors_) {
      PARLEY_RETURN_IF_ERROR(store_.TrimInbox(user, last_user_seq_.at(user) + 1));
    }
    return Status::Ok();
  }

  template <typename Op>
  Status Add(Op&& op, size_t payload_bytes) {
    batch_.Add(std::forward<Op>(op));
    batch_bytes_ += payload_bytes + 48;
    if (batch_.ops.size() >= options_.batch_ops || batch_bytes_ >= (8u << 20)) {
      return Flush(Durability::kBuffered);
    }
    return Status::Ok();
  }

  Status Flush(Durability durability) {
    if (batch_.empty()) return Status::Ok();
    PARLEY_RETURN_IF_ERROR(store_.Apply(batch_, durability));
    batch_.clear();
    batch_bytes_ = 0;
    return Status::Ok();
  }

  Store& store_;
  std::istream& in_;
  const ImportOptions options_;

  std::map<UserId, UserRecord> users_;
  // The users' last user_seq on the exporting server (absent: 0): rebuilt events follow it.
  std::unordered_map<UserId, Seq> last_user_seq_;
  std::vector<UserId> floors_;  // users whose old last user_seq needs an inbox floor
  std::unordered_set<std::string> names_;
  std::vector<BlockRecord> blocks_;
  std::set<std::pair<UserId, UserId>> block_keys_;
  std::map<ConvId, ConvInfo> convs_;
  std::vector<std::pair<uint64_t, size_t>> msg_ids_;  // (msg_id, line)
  uint64_t members_ = 0;
  uint64_t read_cursors_ = 0;
  uint64_t messages_ = 0;

  WriteSet batch_;
  size_t batch_bytes_ = 0;
  ImportStats stats_;
};

}  // namespace

Status Export(Store& store, const ExportScope& scope, std::ostream& out, ExportStats* stats) {
  Exporter exporter(store, scope, out);
  Status st = exporter.Run();
  if (stats != nullptr) *stats = exporter.stats();
  return st;
}

Status Import(Store& store, std::istream& in, ImportStats* stats, const ImportOptions& options) {
  Importer importer(store, in, options);
  Status st = importer.Run();
  if (stats != nullptr) *stats = importer.stats();
  return st;
}

}  // namespace parley::backup
