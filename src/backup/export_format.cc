#include "backup/export_format.h"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "model/names.h"

namespace parley::backup {
namespace {

// Insertion-ordered, so that "type" leads every line.
using Json = nlohmann::ordered_json;

Result<std::string> Dump(const Json& j) {
  try {
    return j.dump();
  } catch (const Json::exception& e) {
    // Only invalid UTF-8 can fail here; the services never store it.
    return Status(Code::kCorruption, std::string("cannot encode a record: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------
// Reading

// Typed access to one line's fields. The first problem with a field (missing, or of the
// wrong type) is kept in field_error(); a well-typed value that is not one of its allowed
// names (an unknown role, say) in name_error(), which counts only without a field error.
class FieldReader {
 public:
  explicit FieldReader(const Json& j) : j_(j) {}

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
    if (id == 0 && field_error_.empty())
      field_error_ = std::string("\"") + key + "\" must not be 0";
    return id;
  }
  // A required enum value by its model name (model/names.h); `expected` explains the
  // allowed names when the value is none of them.
  template <typename Enum>
  Enum Name(const char* key, std::optional<Enum> (*parse)(std::string_view), const char* expected) {
    const bool had_error = !field_error_.empty();
    const std::string name = Str(key);
    if (!had_error && !field_error_.empty()) return Enum{};  // missing or not a string
    std::optional<Enum> value = parse(name);
    if (!value) {
      if (name_error_.empty()) name_error_ = expected;
      return Enum{};
    }
    return *value;
  }

  const std::string& field_error() const { return field_error_; }
  const std::string& name_error() const { return name_error_; }

 private:
  const Json* Find(const char* key, bool required) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      if (required && field_error_.empty())
        field_error_ = std::string("field \"") + key + "\" is missing";
      return nullptr;
    }
    return &*it;
  }
  void Fail(const char* key, const char* want) {
    if (field_error_.empty()) field_error_ = std::string("field \"") + key + "\" must be " + want;
  }

  const Json& j_;
  std::string field_error_;
  std::string name_error_;
};

// One parser per record type: reads the type's fields, leaving problems in the reader.
using RecordParser = ExportLine (*)(FieldReader& f);

ExportLine ParseHeader(FieldReader& f) {
  HeaderLine h;
  h.format = f.U64("format");
  return h;
}

ExportLine ParseUser(FieldReader& f) {
  UserLine u;
  u.user.id = f.Id("id");
  u.user.name = f.Str("name");
  u.user.password_hash = f.Str("password_hash");
  u.user.created_ms = f.I64("created_ms");
  u.last_user_seq = f.U64("last_user_seq", false);
  return u;
}

ExportLine ParseBlock(FieldReader& f) {
  BlockRecord b;
  b.blocker = f.Id("user");
  b.blocked = f.Id("blocked");
  b.created_ms = f.I64("created_ms");
  return b;
}

ExportLine ParseConversation(FieldReader& f) {
  ConvLine c;
  c.conv.id = f.Id("id");
  c.conv.kind = f.Name("kind", &ParseConvKind, "conversation kind must be \"direct\" or \"group\"");
  c.conv.title = f.Str("title", false);
  c.conv.owner = f.U64("owner", false);
  c.conv.created_ms = f.I64("created_ms");
  c.conv.read_fanout = f.Bool("read_fanout");
  c.conv.hidden_from = f.U64("hidden_from", false);
  c.head.last_seq = f.U64("last_seq");
  c.head.last_ms = f.I64("last_ms");
  c.head.last_gseq = f.U64("last_gseq");
  return c;
}

ExportLine ParseMember(FieldReader& f) {
  MemberRecord m;
  m.conv_id = f.Id("conv");
  m.user_id = f.Id("user");
  m.role = f.Name("role", &ParseRole, "role must be \"owner\", \"admin\" or \"member\"");
  m.joined_ms = f.I64("joined_ms");
  return m;
}

ExportLine ParseReadCursor(FieldReader& f) {
  CursorLine c;
  c.user = f.Id("user");
  c.conv = f.Id("conv");
  c.seq = f.Id("seq");
  return c;
}

ExportLine ParseMessage(FieldReader& f) {
  MessageRecord m;
  m.conv_id = f.Id("conv");
  m.seq = f.Id("seq");
  m.msg_id = f.Id("msg_id");
  m.sender = f.Id("sender");
  m.sender_device = f.Str("sender_device", false);
  m.client_msg_id = f.Str("client_msg_id", false);
  m.kind = f.Name("kind", &ParseMessageKind, "message kind must be \"text\" or \"custom\"");
  m.body = f.Str("body");
  m.server_ms = f.I64("server_ms");
  m.edited_ms = f.I64("edited_ms", false);
  m.recalled = f.Bool("recalled");
  m.recalled_by = f.U64("recalled_by", false);
  m.recalled_ms = f.I64("recalled_ms", false);
  return m;
}

ExportLine ParseEnd(FieldReader& f) {
  EndLine e;
  e.counts.users = f.U64("users");
  e.counts.conversations = f.U64("conversations");
  e.counts.members = f.U64("members");
  e.counts.read_cursors = f.U64("read_cursors");
  e.counts.messages = f.U64("messages");
  return e;
}

// The line's "type" -> its parser.
const std::unordered_map<std::string_view, RecordParser>& Parsers() {
  static const auto* parsers = new std::unordered_map<std::string_view, RecordParser>{
      {"parley_export", &ParseHeader}, {"user", &ParseUser},
      {"block", &ParseBlock},          {"conversation", &ParseConversation},
      {"member", &ParseMember},        {"read_cursor", &ParseReadCursor},
      {"message", &ParseMessage},      {"end", &ParseEnd},
  };
  return *parsers;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Writing

Result<std::string> EncodeLine(const HeaderLine& h) {
  Json j{{"type", "parley_export"}, {"format", h.format}, {"exported_ms", h.exported_ms}};
  switch (h.scope.kind) {
    case ExportScope::Kind::kAll:
      j["scope"] = "all";
      break;
    case ExportScope::Kind::kUser:
      j["scope"] = "user";
      j["user"] = h.scope.user;
      break;
    case ExportScope::Kind::kConversation:
      j["scope"] = "conversation";
      j["conv"] = h.scope.conv;
      break;
  }
  return Dump(j);
}

Result<std::string> EncodeLine(const UserLine& line) {
  const UserRecord& u = line.user;
  Json j{{"type", "user"},
         {"id", u.id},
         {"name", u.name},
         {"password_hash", u.password_hash},
         {"created_ms", u.created_ms}};
  if (line.last_user_seq != 0) j["last_user_seq"] = line.last_user_seq;
  return Dump(j);
}

Result<std::string> EncodeLine(const BlockRecord& b) {
  return Dump(Json{{"type", "block"},
                   {"user", b.blocker},
                   {"blocked", b.blocked},
                   {"created_ms", b.created_ms}});
}

Result<std::string> EncodeLine(const ConvLine& line) {
  const ConversationRecord& c = line.conv;
  Json j{{"type", "conversation"}, {"id", c.id}, {"kind", ConvKindName(c.kind)}};
  if (!c.title.empty()) j["title"] = c.title;
  if (c.owner != 0) j["owner"] = c.owner;
  j["created_ms"] = c.created_ms;
  if (c.read_fanout) j["read_fanout"] = true;
  if (c.hidden_from != 0) j["hidden_from"] = c.hidden_from;
  j["last_seq"] = line.head.last_seq;
  j["last_ms"] = line.head.last_ms;
  j["last_gseq"] = line.head.last_gseq;
  return Dump(j);
}

Result<std::string> EncodeLine(const MemberRecord& m) {
  return Dump(Json{{"type", "member"},
                   {"conv", m.conv_id},
                   {"user", m.user_id},
                   {"role", RoleName(m.role)},
                   {"joined_ms", m.joined_ms}});
}

Result<std::string> EncodeLine(const CursorLine& c) {
  return Dump(Json{{"type", "read_cursor"}, {"user", c.user}, {"conv", c.conv}, {"seq", c.seq}});
}

Result<std::string> EncodeLine(const MessageRecord& m) {
  Json j{{"type", "message"},
         {"conv", m.conv_id},
         {"seq", m.seq},
         {"msg_id", m.msg_id},
         {"sender", m.sender},
         {"sender_device", m.sender_device},
         {"client_msg_id", m.client_msg_id},
         {"kind", MessageKindName(m.kind)},
         {"body", m.body},
         {"server_ms", m.server_ms}};
  if (m.edited_ms != 0) j["edited_ms"] = m.edited_ms;
  if (m.recalled) {
    j["recalled"] = true;
    j["recalled_by"] = m.recalled_by;
    j["recalled_ms"] = m.recalled_ms;
  }
  return Dump(j);
}

Result<std::string> EncodeLine(const EndLine& e) {
  return Dump(Json{{"type", "end"},
                   {"users", e.counts.users},
                   {"conversations", e.counts.conversations},
                   {"members", e.counts.members},
                   {"read_cursors", e.counts.read_cursors},
                   {"messages", e.counts.messages}});
}

// ---------------------------------------------------------------------------------------
// Reading

Result<ExportLine> ParseLine(const std::string& text, size_t line) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    // Not only parse_error: a number too large for a double ("1e999") is out_of_range,
    // which escaped here and ended `parley admin import` (found by fuzz/export_line_fuzz.cc).
    return BadLine(line, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) return BadLine(line, "not a JSON object");
  auto type_it = j.find("type");
  if (type_it == j.end() || !type_it->is_string()) return BadLine(line, "no \"type\" field");
  const std::string type = type_it->get<std::string>();
  auto parser = Parsers().find(type);
  if (parser == Parsers().end()) return BadLine(line, "unknown record type \"" + type + "\"");
  FieldReader f(j);
  ExportLine record = parser->second(f);
  if (!f.field_error().empty()) return BadLine(line, type + ": " + f.field_error());
  if (!f.name_error().empty()) return BadLine(line, f.name_error());
  return record;
}

bool IsBlankLine(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

Status BadLine(size_t line, const std::string& message) {
  return InvalidArgument("line " + std::to_string(line) + ": " + message);
}

}  // namespace parley::backup
