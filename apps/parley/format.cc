#include "format.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <iterator>

#include "client/attachment_info.h"
#include "model/names.h"
#include "protocol/encode.h"

namespace parley::cli {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTime(int64_t ms, int64_t now_ms) {
  const time_t t = static_cast<time_t>(ms / 1000), now = static_cast<time_t>(now_ms / 1000);
  tm local{}, today{};
  localtime_r(&t, &local);
  localtime_r(&now, &today);
  char buf[32];
  const bool same_day = local.tm_year == today.tm_year && local.tm_yday == today.tm_yday;
  std::strftime(buf, sizeof(buf), same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M", &local);
  return buf;
}

std::string SafeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\n    ";
    } else if (c == '\t') {
      out += c;
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      // C1 controls (U+0080–U+009F), e.g. the one-byte CSI some terminals honour.
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  static const char* const kUnits[] = {"KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes) / 1000;
  size_t unit = 0;
  while (v >= 999.95 && unit + 1 < std::size(kUnits)) {
    v /= 1000;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

namespace {

// "[file report.pdf 1.2 MB id=…] caption" for the stored body of a file or image message;
// the raw body, tagged with the kind, if it is not one.
std::string AttachmentsText(const MessageRecord& m) {
  const std::string kind(MessageKindName(m.kind));
  auto body = client::ParseAttachmentBody(m.body);
  if (!body.ok()) return "[" + kind + "] " + SafeText(m.body);
  std::string out;
  for (const auto& a : body->attachments) {
    std::string dims = a.width > 0 ? fmt::format(" {}x{}", a.width, a.height) : "";
    out += fmt::format("{}[{} {} {}{} id={}]", out.empty() ? "" : " ",
                       a.kind.empty() ? kind : SafeText(a.kind), SafeText(a.name),
                       HumanBytes(a.size), dims, SafeText(a.id));
  }
  if (!body->caption.empty()) out += " " + SafeText(body->caption);
  return out;
}

}  // namespace

std::string FormatMessageBody(const MessageRecord& m, const std::string& sender) {
  if (m.recalled) return SafeText(sender) + ": (recalled)";
  const char* edited = m.edited_ms != 0 ? " (edited)" : "";
  if (m.kind == MessageKind::kCustom) {
    return SafeText(sender) + ": [custom] " + SafeText(m.body) + edited;
  }
  if (m.kind == MessageKind::kFile || m.kind == MessageKind::kImage) {
    return SafeText(sender) + ": " + AttachmentsText(m) + edited;
  }
  return SafeText(sender) + ": " + SafeText(m.body) + edited;
}

std::string FormatHistoryLine(const MessageRecord& m, const std::string& sender, int64_t now_ms) {
  return fmt::format("#{:<5} {}  {}", m.seq, FormatTime(m.server_ms, now_ms),
                     FormatMessageBody(m, sender));
}

std::string FormatEventLine(const SyncItem& item, const EventNames& n, int64_t now_ms) {
  const InboxEvent& e = item.event;
  const std::string actor = n.actor_is_me ? "you" : SafeText(n.actor);
  const std::string subject = n.subject_is_me ? "you" : SafeText(n.subject);
  std::string what;
  switch (e.type) {
    case EventType::kMessage:
      what = item.message ? FormatMessageBody(*item.message, n.sender)
                          : fmt::format("new message #{}", e.conv_seq);
      break;
    case EventType::kRecall:
      what = fmt::format("{} recalled message #{}", actor, e.conv_seq);
      break;
    case EventType::kEdit:
      // The message as it is now, with its seq: it replaces one shown earlier.
      what = item.message
                 ? fmt::format("#{} {}", e.conv_seq, FormatMessageBody(*item.message, n.sender))
                 : fmt::format("{} edited message #{}", actor, e.conv_seq);
      break;
    case EventType::kRead:
      what = fmt::format("you read up to #{} (on another device)", e.conv_seq);
      break;
    case EventType::kReceipt:
      what = fmt::format("{} read up to #{}", actor, e.conv_seq);
      break;
    case EventType::kMemberJoined:
      what = e.actor == 0 || e.actor == e.subject ? fmt::format("{} joined", subject)
                                                  : fmt::format("{} added {}", actor, subject);
      break;
    case EventType::kMemberLeft:
      what = e.actor == 0 || e.actor == e.subject ? fmt::format("{} left", subject)
                                                  : fmt::format("{} removed {}", actor, subject);
      break;
    case EventType::kConvUpdated:
      what = fmt::format("{} updated the conversation", actor);
      break;
    case EventType::kWithheld:
      what = "(withheld: you are no longer a member)";
      break;
  }
  return fmt::format("{} [{}] {}", FormatTime(e.ms, now_ms), SafeText(n.conv), what);
}

std::string MessageJson(const MessageRecord& m) {
  JsonWriter w;
  WriteMessage(w, m);
  return w.Take();
}

std::string EventJson(const SyncItem& item) {
  JsonWriter w;
  WriteEvent(w, item.event, item.message ? MessageJson(*item.message) : std::string());
  return w.Take();
}

std::string ConversationJson(const ConversationRecord& c) {
  JsonWriter w;
  WriteConversation(w, c);
  return w.Take();
}

std::string SummaryJson(const ConversationSummary& s) {
  JsonWriter w;
  WriteSummary(w, s);
  return w.Take();
}

std::string MemberJson(const MemberRecord& m) {
  JsonWriter w;
  WriteMember(w, m);
  return w.Take();
}

std::string SendAckJson(const SendAck& a) {
  JsonWriter w;
  w.BeginObject().Key("conv").Uint(a.conv_id).Key("seq").Uint(a.seq).Key("msg_id").Uint(a.msg_id);
  w.Key("ts").Int(a.server_ms).Key("duplicate").Bool(a.duplicate).EndObject();
  return w.Take();
}

std::string HeadJson(const HeadInfo& h) {
  JsonWriter w;
  w.BeginObject().Key("type").String("head").Key("conv").Uint(h.conv_id);
  w.Key("seq").Uint(h.last_seq).Key("ts").Int(h.last_ms).EndObject();
  return w.Take();
}

std::string TypingJson(ConvId conv, UserId user) {
  JsonWriter w;
  w.BeginObject().Key("type").String("typing").Key("conv").Uint(conv).Key("user").Uint(user);
  w.EndObject();
  return w.Take();
}

}  // namespace parley::cli
