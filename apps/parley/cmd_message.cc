// Message commands: send, history, read, recall, edit; and the send path they share with
// `send --file` (send_path.h).
#include <fmt/format.h>

#include <iostream>
#include <iterator>
#include <thread>

#include "cli.h"
#include "directory.h"
#include "format.h"
#include "protocol/json_writer.h"
#include "send_path.h"

namespace parley::cli {
namespace {

Directory::Provider ProviderOf(Session& s) {
  return [&s] { return s.client.get(); };
}

// The message text of TEXT arguments: several words are joined with spaces; a lone "-"
// reads stdin (without its final newline).
std::string TextOf(const std::vector<std::string>& words) {
  std::string body;
  if (words.size() == 1 && words[0] == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (!body.empty() && body.back() == '\n') body.pop_back();
    return body;
  }
  for (const auto& word : words) body += (body.empty() ? "" : " ") + word;
  return body;
}

struct SendArgs {
  std::string to;
  ConvId conv = 0;
  std::vector<std::string> text;
  bool custom = false;
  std::string file;  // --file: an attachment instead of text (cmd_attach.cc)
  std::string caption;
  bool image = false;
};

int Send(Cli& cli, const SendArgs& a) {
  if (a.to.empty() == (a.conv == 0)) return cli.Usage("send: give either --to USER or --conv ID");
  if (!a.file.empty()) {
    if (!a.text.empty()) return cli.Usage("send --file: give the text with --caption TEXT");
    if (a.custom) return cli.Usage("send: --custom and --file exclude each other");
    return SendFile(cli, {a.to, a.conv, a.file, a.caption, a.image});
  }
  if (!a.caption.empty() || a.image) return cli.Usage("send: --caption and --image need --file");
  std::string body = TextOf(a.text);
  if (body.empty()) return cli.Usage("send: no text (give TEXT, or - to read stdin)");

  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  client::OutgoingMessage m;
  m.conv = a.conv;
  if (!a.to.empty()) m.to = UserArgOf(a.to);
  m.kind = a.custom ? MessageKind::kCustom : MessageKind::kText;
  m.body = std::move(body);
  m.client_msg_id = client::NewClientMsgId();  // the same for every retry below
  auto ack = SendWithRetries(cli, *session, [&m](client::BlockingClient& c, int64_t* retry_after) {
    return c.SendMessage(m, retry_after);
  });
  if (!ack.ok()) return cli.Fail(ack.status());
  PrintSendAck(cli, *ack);
  return kExitOk;
}

struct HistoryArgs {
  std::string with;
  ConvId conv = 0;
  size_t limit = 0;
  Seq before = 0;
  Seq after = 0;
};

int History(Cli& cli, const HistoryArgs& a) {
  if (a.with.empty() == (a.conv == 0))
    return cli.Usage("history: give either --with USER or --conv ID");
  if (a.before && a.after) return cli.Usage("history: --before and --after exclude each other");
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  Directory dir(ProviderOf(*session), session->state.user);
  ConvId conv = a.conv;
  if (!a.with.empty()) {
    auto user = dir.ResolveUser(a.with);
    if (!user.ok()) return cli.Fail(user.status());
    auto direct = dir.DirectWith(*user);
    if (!direct.ok()) return cli.Fail(direct.status());
    if (*direct == 0) return cli.Fail(NotFound("no conversation with " + a.with + " yet"));
    conv = *direct;
  }
  client::HistoryQuery q;
  q.limit = a.limit;
  if (a.before) q.before = a.before;
  if (a.after) q.after = a.after;
  auto page = session->client->History(conv, q);
  if (!page.ok()) return cli.Fail(page.status());
  std::vector<UserId> senders;
  for (const auto& m : page->messages) senders.push_back(m.sender);
  dir.Prefetch(senders);
  const int64_t now = NowMs();
  for (const auto& m : page->messages) {
    cli.Out(cli.opts.json ? MessageJson(m) : FormatHistoryLine(m, dir.UserName(m.sender), now));
  }
  if (page->has_more_before && !page->messages.empty()) {
    cli.Note(fmt::format("(older: parley history --conv {} --before {})", conv,
                         page->messages.front().seq));
  }
  return kExitOk;
}

int Read(Cli& cli, ConvId conv, Seq seq) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  if (seq == 0) {  // up to the head: ask for it with the smallest history page
    client::HistoryQuery q;
    q.limit = 1;
    auto page = session->client->History(conv, q);
    if (!page.ok()) return cli.Fail(page.status());
    seq = page->head_seq;
    if (seq == 0) {
      cli.Note("nothing to read: the conversation has no messages");
      if (cli.opts.json) cli.Out(fmt::format(R"({{"conv":{},"read_seq":0}})", conv));
      return kExitOk;
    }
  }
  auto read = session->client->Read(conv, seq);
  if (!read.ok()) return cli.Fail(read.status());
  if (cli.opts.json) {
    cli.Out(fmt::format(R"({{"conv":{},"read_seq":{}}})", conv, read->read_seq));
  } else {
    Directory dir(ProviderOf(*session), session->state.user);
    cli.Out(fmt::format("read up to #{} in {}", read->read_seq, dir.ConvLabel(conv)));
  }
  return kExitOk;
}

int Recall(Cli& cli, ConvId conv, Seq seq) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  if (Status st = session->client->Recall(conv, seq); !st.ok()) return cli.Fail(st);
  cli.Out(cli.opts.json ? fmt::format(R"({{"conv":{},"seq":{},"recalled":true}})", conv, seq)
                        : fmt::format("recalled #{} in conversation {}", seq, conv));
  return kExitOk;
}

struct EditArgs {
  ConvId conv = 0;
  Seq seq = 0;
  std::vector<std::string> text;
};

int Edit(Cli& cli, const EditArgs& a) {
  std::string body = TextOf(a.text);
  if (body.empty()) return cli.Usage("edit: no text (give TEXT, or - to read stdin)");
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  auto edit = session->client->Edit(a.conv, a.seq, body);
  if (!edit.ok()) return cli.Fail(edit.status());
  cli.Out(cli.opts.json ? fmt::format(R"({{"conv":{},"seq":{},"edited_ms":{}}})", edit->conv_id,
                                      edit->seq, edit->edited_ms)
                        : fmt::format("edited #{} in conversation {}", edit->seq, edit->conv_id));
  return kExitOk;
}

}  // namespace

Result<SendAck> SendWithRetries(Cli& cli, Session& session, const SendAttempt& attempt) {
  Result<SendAck> ack = Status(Code::kInternal, "not sent");
  for (int i = 0; i < 5; ++i) {
    int64_t retry_after_ms = -1;
    ack = attempt(*session.client, &retry_after_ms);
    if (ack.ok()) break;
    if (ack.status().code() == Code::kRateLimited) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::clamp<int64_t>(retry_after_ms, 10, 10000)));
      continue;
    }
    if (!client::IsTransportError(ack.status())) break;
    // The reply was lost with the connection: the message may be stored or not. Resending
    // with the same client_msg_id settles it either way.
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << i));
    auto again = cli.OpenSession();
    if (!again.ok()) return again.status();
    session = std::move(again).value();
  }
  return ack;
}

void PrintSendAck(Cli& cli, const SendAck& ack) {
  if (cli.opts.json) {
    cli.Out(SendAckJson(ack));
  } else {
    cli.Out(fmt::format("sent #{} in conversation {}{}", ack.seq, ack.conv_id,
                        ack.duplicate ? " (already stored: duplicate)" : ""));
  }
}

void AddMessageCommands(CLI::App& app, Cli& cli) {
  {
    auto* sub = app.add_subcommand("send", "send a message");
    auto a = std::make_shared<SendArgs>();
    auto* to = sub->add_option("--to", a->to, "a user (name or id): the direct conversation");
    sub->add_option("--conv", a->conv, "a conversation id")->excludes(to);
    sub->add_flag("--custom", a->custom, "the text is a JSON document (kind \"custom\")");
    sub->add_option("--file", a->file, "send this file (kind \"file\", or \"image\")");
    sub->add_option("--caption", a->caption, "with --file: text shown with the file");
    sub->add_flag("--image", a->image, "with --file: send as an image (kind \"image\")");
    sub->add_option("TEXT", a->text, "the message (several words are joined; - reads stdin)");
    cli.Command(sub, [&cli, a] { return Send(cli, *a); });
  }
  {
    auto* sub = app.add_subcommand("history", "show a page of a conversation, oldest first");
    auto a = std::make_shared<HistoryArgs>();
    auto* with = sub->add_option("--with", a->with, "the direct conversation with this user");
    sub->add_option("--conv", a->conv, "a conversation id")->excludes(with);
    sub->add_option("--limit", a->limit, "messages (default 50, at most 200)")
        ->check(CLI::Range(1, 200));
    sub->add_option("--before", a->before, "messages before this seq (page backwards)");
    sub->add_option("--after", a->after, "messages after this seq");
    cli.Command(sub, [&cli, a] { return History(cli, *a); });
  }
  {
    auto* sub = app.add_subcommand("read", "mark a conversation read (default: up to its head)");
    auto conv = std::make_shared<ConvId>(0);
    auto seq = std::make_shared<Seq>(0);
    sub->add_option("CONV", *conv, "conversation id")->required();
    sub->add_option("SEQ", *seq, "read up to this seq");
    cli.Command(sub, [&cli, conv, seq] { return Read(cli, *conv, *seq); });
  }
  {
    auto* sub = app.add_subcommand("recall", "recall (unsend) a message");
    auto conv = std::make_shared<ConvId>(0);
    auto seq = std::make_shared<Seq>(0);
    sub->add_option("CONV", *conv, "conversation id")->required();
    sub->add_option("SEQ", *seq, "the message's seq")->required();
    cli.Command(sub, [&cli, conv, seq] { return Recall(cli, *conv, *seq); });
  }
  {
    auto* sub = app.add_subcommand("edit", "replace the text of a message you sent");
    auto a = std::make_shared<EditArgs>();
    sub->add_option("CONV", a->conv, "conversation id")->required();
    sub->add_option("SEQ", a->seq, "the message's seq")->required();
    sub->add_option("TEXT", a->text, "the new text (several words are joined; - reads stdin)")
        ->required();
    cli.Command(sub, [&cli, a] { return Edit(cli, *a); });
  }
}

}  // namespace parley::cli
