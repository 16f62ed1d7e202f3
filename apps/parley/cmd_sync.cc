// Sync commands: `sync` (print what is new since the stored cursor, then advance it) and
// `tail` (stay connected and print events as they come, reconnecting, until Ctrl-C).
//
// `tail` is the reliable client at work: events arrive exactly once in user_seq order and
// the cursor is persisted after each is printed, so `tail` and `sync` can take turns
// without printing anything twice or skipping anything.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>

#include "cli.h"
#include "client/reliable_client.h"
#include "directory.h"
#include "format.h"

namespace parley::cli {
namespace {

// Prints events, heads and typing notices, with names from a Directory.
class EventPrinter {
 public:
  EventPrinter(Cli& cli, Directory& dir) : cli_(cli), dir_(dir) {}

  void Print(const SyncItem& item) {
    if (cli_.opts.json) return cli_.Out(EventJson(item));
    const InboxEvent& e = item.event;
    EventNames n;
    n.conv = dir_.ConvLabel(e.conv_id);
    n.actor = dir_.UserName(e.actor);
    n.actor_is_me = e.actor == dir_.self();
    n.subject = dir_.UserName(e.subject);
    n.subject_is_me = e.subject == dir_.self();
    if (item.message) n.sender = dir_.UserName(item.message->sender);
    // Membership changed: the conversation list (and its labels) may be stale now.
    if (e.type == EventType::kMemberJoined || e.type == EventType::kMemberLeft ||
        e.type == EventType::kConvUpdated) {
      dir_.InvalidateConvs();
    }
    cli_.Out(FormatEventLine(item, n, NowMs()));
  }

  void PrintPage(const std::vector<SyncItem>& items) {
    if (!cli_.opts.json) dir_.PrefetchFor(items);
    for (const auto& item : items) Print(item);
  }

  void PrintHead(const HeadInfo& h) {
    if (cli_.opts.json) return cli_.Out(HeadJson(h));
    cli_.Out(fmt::format("{} [{}] new messages up to #{} (parley history --conv {} --after ...)",
                         FormatTime(h.last_ms, NowMs()), SafeText(dir_.ConvLabel(h.conv_id)),
                         h.last_seq, h.conv_id));
  }

  void PrintTyping(ConvId conv, UserId user) {
    if (cli_.opts.json) return cli_.Out(TypingJson(conv, user));
    cli_.Out(fmt::format("{} [{}] {} is typing...", FormatTime(NowMs(), NowMs()),
                         SafeText(dir_.ConvLabel(conv)), SafeText(dir_.UserName(user))));
  }

 private:
  Cli& cli_;
  Directory& dir_;
};

constexpr char kResetNote[] =
    "(your cursor is older than what the server keeps: some events are gone; "
    "see `parley convs` and `parley history`)";

int Sync(Cli& cli) {
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  client::SessionState& state = session->state;
  Directory dir([&] { return session->client.get(); }, state.user);
  EventPrinter printer(cli, dir);
  size_t printed = 0;
  for (;;) {
    const Seq since = state.cursor;
    auto reply = session->client->Sync(since, 500, state.heads_since);
    if (!reply.ok()) return cli.Fail(reply.status());
    if (reply->reset) cli.Note(kResetNote);
    std::vector<SyncItem> fresh;
    for (auto& item : reply->items) {
      if (item.event.user_seq > since) fresh.push_back(std::move(item));
    }
    printer.PrintPage(fresh);
    for (const auto& h : reply->heads) printer.PrintHead(h);
    printed += fresh.size() + reply->heads.size();
    // Printed first, persisted second: a crash in between prints a page again rather
    // than losing it.
    state.cursor = std::max(state.cursor, reply->next);
    state.heads_since = std::max(state.heads_since, reply->heads_next);
    if (Status st = cli.store().Save(state); !st.ok()) return cli.Fail(st);
    if (!reply->has_more || reply->next <= since) break;
  }
  if (printed == 0) cli.Note("no new events");
  return kExitOk;
}

// A second connection for name lookups while the reliable client owns the first; it
// reconnects lazily, at most every few seconds, and reads no pushes.
class LookupConnection {
 public:
  LookupConnection(Cli& cli, std::string url, client::SessionState state)
      : cli_(cli), url_(std::move(url)), state_(std::move(state)) {}

  client::BlockingClient* Get() {
    if (client_ && client_->open()) return client_.get();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_attempt_ < std::chrono::seconds(5)) return nullptr;
    last_attempt_ = now;
    client_.reset();
    auto c = cli_.Connect(url_);
    if (!c.ok() || !(*c)->Auth(state_.token, state_.device).ok()) return nullptr;
    client_ = std::move(c).value();
    return client_.get();
  }

 private:
  Cli& cli_;
  std::string url_;
  client::SessionState state_;
  std::unique_ptr<client::BlockingClient> client_;
  std::chrono::steady_clock::time_point last_attempt_{};
};

int Tail(Cli& cli) {
  auto loaded = cli.store().Load();
  if (!loaded.ok()) return cli.Fail(loaded.status());
  if (loaded->token.empty()) {
    return cli.Fail(Status(Code::kUnauthenticated, "not logged in (run: parley login NAME)"));
  }
  const client::SessionState state = *loaded;
  const std::string url = cli.ServerUrl(&state);
  if (auto u = client::ParseUrl(url); !u.ok()) return cli.Usage(u.status().message());

  // Ctrl-C and SIGTERM are taken with sigtimedwait below; blocked before any thread
  // starts so that every thread inherits the mask and none is killed mid-write.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  LookupConnection lookup(cli, url, state);
  Directory dir([&lookup] { return lookup.Get(); }, state.user);
  EventPrinter printer(cli, dir);
  std::atomic<int> exit_code{-1};
  bool ever_connected = false;  // these two are touched on the client's thread only
  bool reported_down = false;

  client::ReliableClient::Options o;
  o.connect = cli.ConnectOptionsFor(url);
  o.call_timeout = cli.timeout();
  o.on_head = [&](const HeadInfo& h) { printer.PrintHead(h); };
  o.on_typing = [&](ConvId conv, UserId user) { printer.PrintTyping(conv, user); };
  o.on_reset = [&] { cli.Note(kResetNote); };
  o.on_connection = [&](bool connected, const Status& why) {
    if (connected) {
      cli.Note(ever_connected
                   ? "reconnected"
                   : "connected as " + state.name + "; waiting for messages (Ctrl-C to stop)");
      ever_connected = true;
      reported_down = false;
    } else if (why.code() == Code::kUnauthenticated && !client::IsTransportError(why)) {
      exit_code = cli.Fail(Status(why.code(),
                                  "the stored session was revoked or expired (run: "
                                  "parley login " +
                                      state.name + ")"));
    } else if (!ever_connected) {
      exit_code = cli.Fail(why);
    } else if (!reported_down) {  // once per outage, not once per attempt
      cli.Note("connection lost (" + why.message() + "); reconnecting...");
      reported_down = true;
    }
  };
  // The CLI journals nothing itself, but a session file may carry sends journaled by
  // another app of this device: say what became of them.
  o.on_send_done = [&](const client::PendingSend& p, const Result<SendAck>& r) {
    if (!r.ok())
      cli.Note("a queued message (" + p.client_msg_id + ") was refused: " + r.status().ToString());
  };
  client::ReliableClient rc(o, &cli.store(), [&](const SyncItem& item) { printer.Print(item); });
  rc.Start();
  while (exit_code < 0) {
    timespec tick{0, 200 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) exit_code = kExitOk;
  }
  rc.Stop();
  return exit_code;
}

}  // namespace

void AddSyncCommands(CLI::App& app, Cli& cli) {
  cli.Command(app.add_subcommand("sync", "print new events since the last sync, then advance"),
              [&cli] { return Sync(cli); });
  cli.Command(app.add_subcommand("tail", "stay connected and print events as they arrive"),
              [&cli] { return Tail(cli); });
}

}  // namespace parley::cli
