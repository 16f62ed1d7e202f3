// The CLI's output formats: times, terminal-safe bodies, event lines, JSON lines.
#include "format.h"

#include <gtest/gtest.h>

#include <ctime>

namespace parley::cli {
namespace {

int64_t LocalMs(int year, int month, int day, int h, int m, int s) {
  tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = h;
  t.tm_min = m;
  t.tm_sec = s;
  t.tm_isdst = -1;
  return static_cast<int64_t>(mktime(&t)) * 1000;
}

TEST(FormatTest, TimeIsShortTodayAndDatedOtherwise) {
  const int64_t now = LocalMs(2026, 11, 22, 18, 0, 0);
  EXPECT_EQ(FormatTime(LocalMs(2026, 11, 22, 9, 5, 7) + 999, now), "09:05:07");
  EXPECT_EQ(FormatTime(LocalMs(2026, 11, 21, 23, 59, 59), now), "2026-11-21 23:59");
  EXPECT_EQ(FormatTime(LocalMs(2025, 11, 22, 9, 5, 7), now), "2025-11-22 09:05");
}

TEST(FormatTest, BodiesCannotDriveTheTerminal) {
  EXPECT_EQ(SafeText("plain ünï 😀"), "plain ünï 😀");
  EXPECT_EQ(SafeText("\x1b[2J\x1b]0;pwned\x07"), "\\x1b[2J\\x1b]0;pwned\\x07");
  EXPECT_EQ(SafeText("a\rb\x7f"), "a\\x0db\\x7f");
  EXPECT_EQ(SafeText("\xc2\x9b"
                     "31m"),
            "\\u009b31m");  // C1 CSI
  EXPECT_EQ(SafeText("line1\nline2"), "line1\n    line2");
  EXPECT_EQ(SafeText("tab\tok"), "tab\tok");
}

MessageRecord Message(std::string body) {
  MessageRecord m;
  m.conv_id = 3;
  m.seq = 41;
  m.sender = 7;
  m.body = std::move(body);
  m.server_ms = LocalMs(2026, 11, 22, 14, 3, 7);
  return m;
}

TEST(FormatTest, MessagesAndHistoryLines) {
  const int64_t now = LocalMs(2026, 11, 22, 18, 0, 0);
  EXPECT_EQ(FormatHistoryLine(Message("hi bob"), "alice", now), "#41    14:03:07  alice: hi bob");
  MessageRecord recalled = Message("");
  recalled.recalled = true;
  EXPECT_EQ(FormatMessageBody(recalled, "alice"), "alice: (recalled)");
  MessageRecord custom = Message(R"({"k":1})");
  custom.kind = MessageKind::kCustom;
  EXPECT_EQ(FormatMessageBody(custom, "alice"), R"(alice: [custom] {"k":1})");
  MessageRecord edited = Message("hi bob!");
  edited.edited_ms = edited.server_ms + 5000;
  EXPECT_EQ(FormatHistoryLine(edited, "alice", now), "#41    14:03:07  alice: hi bob! (edited)");
  edited.recalled = true;  // recalled after the edit: nothing of it is left to show
  EXPECT_EQ(FormatMessageBody(edited, "alice"), "alice: (recalled)");
}

TEST(FormatTest, FileAndImageMessagesShowTheirAttachments) {
  MessageRecord file =
      Message(R"({"attachments":[{"id":"0123456789abcdef0123456789abcdef","name":"report.pdf",)"
              R"("size":1234567,"kind":"file"}],"caption":"the numbers"})");
  file.kind = MessageKind::kFile;
  EXPECT_EQ(FormatMessageBody(file, "alice"),
            "alice: [file report.pdf 1.2 MB id=0123456789abcdef0123456789abcdef] the numbers");
  MessageRecord image =
      Message(R"({"attachments":[{"id":"0123456789abcdef0123456789abcdef","name":"a\u001b.jpg",)"
              R"("size":900,"kind":"image","width":640,"height":480}]})");
  image.kind = MessageKind::kImage;
  EXPECT_EQ(FormatMessageBody(image, "bob"),
            "bob: [image a\\x1b.jpg 900 B 640x480 id=0123456789abcdef0123456789abcdef]");
  MessageRecord odd = Message("not json");
  odd.kind = MessageKind::kFile;
  EXPECT_EQ(FormatMessageBody(odd, "bob"), "bob: [file] not json");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(20 * 1024 * 1024), "21.0 MB");
  EXPECT_EQ(HumanBytes(999'960), "1.0 MB");
}

TEST(FormatTest, EventLinesUseNames) {
  const int64_t now = LocalMs(2026, 11, 22, 18, 0, 0);
  SyncItem item;
  item.event.type = EventType::kMessage;
  item.event.conv_id = 3;
  item.event.conv_seq = 41;
  item.event.actor = 7;
  item.event.ms = LocalMs(2026, 11, 22, 14, 3, 7);
  item.message = Message("hi bob");
  EventNames n;
  n.conv = "bob #3";
  n.actor = n.sender = "alice";
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [bob #3] alice: hi bob");

  item.message.reset();
  item.event.type = EventType::kMemberJoined;
  item.event.subject = 9;
  n.conv = "team #7";
  n.subject = "carol";
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [team #7] alice added carol");
  item.event.actor = 9;
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [team #7] carol joined");
  item.event.type = EventType::kMemberLeft;
  n.subject_is_me = true;
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [team #7] you left");
  item.event.type = EventType::kReceipt;
  item.event.conv_seq = 12;
  n.actor = "bob";
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [team #7] bob read up to #12");
  item.event.type = EventType::kRecall;
  item.event.conv_seq = 5;
  n.actor_is_me = true;
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [team #7] you recalled message #5");
  item.event.type = EventType::kEdit;
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [team #7] you edited message #5");
  item.message = Message("fixed");
  item.message->edited_ms = item.message->server_ms + 1;
  n.sender = "alice";
  EXPECT_EQ(FormatEventLine(item, n, now), "14:03:07 [team #7] #5 alice: fixed (edited)");
}

TEST(FormatTest, JsonLinesAreProtocolObjects) {
  SyncItem item;
  item.event.user_seq = 9;
  item.event.type = EventType::kMessage;
  item.event.conv_id = 3;
  item.message = Message("a \"quoted\"\nline");
  const std::string json = EventJson(item);
  auto decoded = DecodePush(R"({"push":"event","event":)" + json + "}");
  ASSERT_TRUE(decoded.ok()) << json;
  EXPECT_EQ(decoded->item.event.user_seq, 9u);
  ASSERT_TRUE(decoded->item.message.has_value());
  EXPECT_EQ(decoded->item.message->body, "a \"quoted\"\nline");
  EXPECT_EQ(json.find('\n'), std::string::npos);  // one object per line

  HeadInfo h{12, 5000, 17};
  EXPECT_EQ(HeadJson(h), R"({"type":"head","conv":12,"seq":5000,"ts":17})");
  EXPECT_EQ(TypingJson(3, 7), R"({"type":"typing","conv":3,"user":7})");
  SendAck a{3, 41, 9001, 17, true};
  EXPECT_EQ(SendAckJson(a), R"({"conv":3,"seq":41,"msg_id":9001,"ts":17,"duplicate":true})");
}

}  // namespace
}  // namespace parley::cli
