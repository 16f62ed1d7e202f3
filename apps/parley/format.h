// How the CLI prints things: human lines (local times, names, bodies made safe for a
// terminal) and --json lines (the protocol's own objects, docs/protocol.md §2, one per
// line, so scripts see exactly what the server sent).
//
// Thread-safety: pure functions (localtime_r).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/decode.h"

namespace parley::cli {

// "14:03:07" for a time today (local), else "2026-11-20 14:03".
std::string FormatTime(int64_t ms, int64_t now_ms);
int64_t NowMs();

// A body as it may be shown on a terminal: control characters (escape sequences could
// rewrite the screen) become visible escapes; newlines continue indented.
std::string SafeText(std::string_view text);

// "1.2 MB", "980 KB", "17 B" (powers of 1000, as people read sizes).
std::string HumanBytes(uint64_t bytes);

// "alice: hello", "alice: hello (edited)", "alice: (recalled)", "alice: [custom] {…}",
// "alice: [file report.pdf 1.2 MB id=…] caption", "alice: [image beach.jpg 640x480 …]".
std::string FormatMessageBody(const MessageRecord& m, const std::string& sender);
// A history line: "#41  14:03:07  alice: hello".
std::string FormatHistoryLine(const MessageRecord& m, const std::string& sender, int64_t now_ms);

// The names an event line needs, resolved by the caller.
struct EventNames {
  std::string conv;     // conversation label, e.g. "team #7"
  std::string actor;    // who did it
  std::string subject;  // member_joined / member_left: who joined or left
  std::string sender;   // the message's sender
  bool actor_is_me = false;
  bool subject_is_me = false;
};
// "14:03:07 [team #7] alice: hello", "… [team #7] alice added bob", …
std::string FormatEventLine(const SyncItem& item, const EventNames& names, int64_t now_ms);

// --json objects.
std::string MessageJson(const MessageRecord& m);
std::string EventJson(const SyncItem& item);
std::string ConversationJson(const ConversationRecord& c);
std::string SummaryJson(const ConversationSummary& s);
std::string MemberJson(const MemberRecord& m);
std::string SendAckJson(const SendAck& a);
std::string HeadJson(const HeadInfo& h);           // {"type":"head",…}
std::string TypingJson(ConvId conv, UserId user);  // {"type":"typing",…}

}  // namespace parley::cli
