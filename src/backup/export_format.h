// The export's line grammar (format 1): one record per line, written by the exporter
// (export.cc) and read back by the importer (import.cc) through the types and functions
// below, so that a field is spelled in one place for both directions. Enum values use the
// model's names (model/names.h).
//
// Format 1: UTF-8, one JSON object per line, each with a "type". Ids and sequence numbers
// are unsigned integers, `*_ms` are milliseconds since the Unix epoch; optional fields
// (marked ?) are written only when set. Unknown fields are ignored; blank lines too.
//
//   {"type":"parley_export","format":1,"exported_ms":1732000000000,"scope":"all"}
//       the first line; scope "user" adds "user":ID, scope "conversation" adds "conv":ID
//   {"type":"user","id":1,"name":"alice","password_hash":"$argon2id$v=19$...","created_ms":…,
//    "last_user_seq"?:57}
//       name normalised; password_hash "" when exported without passwords (such an
//       account exists but cannot log in); last_user_seq: the user's last sync-timeline
//       position on the exporting server
//   {"type":"block","user":1,"blocked":2,"created_ms":…}
//       user 1 blocks user 2; whole exports only (a scoped one may lack the blocked user)
//   {"type":"conversation","id":3,"kind":"direct"|"group","title"?:"…","owner"?:1,
//    "created_ms":…,"read_fanout"?:true,"hidden_from"?:2,"last_seq":12,"last_ms":…,
//    "last_gseq":40}
//       last_*: the conversation head (last_seq = its number of messages); hidden_from:
//       a direct conversation without messages not shown to that member yet (no event)
//   {"type":"member","conv":3,"user":1,"role":"owner"|"admin"|"member","joined_ms":…}
//   {"type":"read_cursor","user":1,"conv":3,"seq":10}
//   {"type":"message","conv":3,"seq":1,"msg_id":17,"sender":1,"sender_device":"phone",
//    "client_msg_id":"c-1","kind":"text"|"custom","body":"hi","server_ms":…,
//    "edited_ms"?:…,"recalled"?:true,"recalled_by"?:2,"recalled_ms"?:…}
//       body: the text, or the custom JSON document as a string; "" once recalled
//   {"type":"end","users":N,"conversations":N,"members":N,"read_cursors":N,"messages":N}
//       the last line: import checks the counts, so a truncated file is refused
//
// Order: the header, every user, the blocks, then per conversation (ascending id) its line, its
// members, its read cursors and its messages in seq order (1, 2, 3… without gaps), then
// "end". A line may refer only to users and conversations of earlier lines.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "backup/export.h"
#include "common/status.h"
#include "model/records.h"

namespace parley::backup {

// The first line. Import reads only `format`: the rest says what the file holds.
struct HeaderLine {
  uint64_t format = kExportFormat;
  int64_t exported_ms = 0;
  ExportScope scope;
};
struct UserLine {
  UserRecord user;
  Seq last_user_seq = 0;  // 0: none (not written)
};
struct ConvLine {
  ConversationRecord conv;  // member_count is not exported: import counts the members
  ConvHead head;
};
struct CursorLine {
  UserId user = 0;
  ConvId conv = 0;
  Seq seq = 0;
};
// The last line: how many records of each kind the file holds.
struct EndLine {
  ExportStats counts;
};

// One line of an export. Members, messages and blocks are their records (a member line
// leaves read_fanout false: the conversation line carries it).
using ExportLine = std::variant<HeaderLine, UserLine, ConvLine, MemberRecord, CursorLine,
                                MessageRecord, EndLine, BlockRecord>;

// The JSON text of a record's line, without the newline. kCorruption if a string in it is
// not valid UTF-8 (the services never store such a string).
Result<std::string> EncodeLine(const HeaderLine& header);
Result<std::string> EncodeLine(const UserLine& user);
Result<std::string> EncodeLine(const BlockRecord& block);
Result<std::string> EncodeLine(const ConvLine& conv);
Result<std::string> EncodeLine(const MemberRecord& member);
Result<std::string> EncodeLine(const CursorLine& cursor);
Result<std::string> EncodeLine(const MessageRecord& message);
Result<std::string> EncodeLine(const EndLine& end);

// Parses line number `line` (1-based, for the message). kInvalidArgument, "line N: …",
// naming the problem: not JSON, not an object, no or an unknown "type", a missing field or
// one of the wrong type, an unknown enum name.
Result<ExportLine> ParseLine(const std::string& text, size_t line);

// Whether `text` is a blank line (spaces, tabs, a carriage return), which import skips.
bool IsBlankLine(const std::string& text);

// The error of line number `line`: kInvalidArgument, "line N: message".
Status BadLine(size_t line, const std::string& message);

}  // namespace parley::backup
