// `parley search`: full-text search of the conversations you are in.
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "directory.h"
#include "format.h"
#include "protocol/json_writer.h"
#include "search_format.h"

namespace parley::cli {
namespace {

struct SearchCmdArgs {
  std::vector<std::string> words;
  ConvId conv = 0;
  std::string from, since, until, cursor;
  bool relevance = false;
  size_t limit = 0;
};

Directory::Provider ProviderOfSearch(Session& s) {
  return [&s] { return s.client.get(); };
}

int Search(Cli& cli, const SearchCmdArgs& a) {
  client::SearchArgs args;
  for (const auto& w : a.words) args.q += (args.q.empty() ? "" : " ") + w;
  const int64_t now = NowMs();
  for (auto [text, out, name] : {std::tuple{&a.since, &args.since_ms, "--since"},
                                 std::tuple{&a.until, &args.until_ms, "--until"}}) {
    if (text->empty()) continue;
    auto ms = ParseWhen(*text, now);
    if (!ms.ok()) return cli.Usage(std::string(name) + ": " + std::string(ms.status().message()));
    *out = *ms;
  }
  if (a.conv) args.conv = a.conv;
  if (!a.from.empty()) args.from = UserArgOf(a.from);
  args.by_relevance = a.relevance;
  args.limit = a.limit;
  args.cursor = a.cursor;
  auto session = cli.OpenSession();
  if (!session.ok()) return cli.Fail(session.status());
  auto result = session->client->Search(args);
  if (!result.ok()) return cli.Fail(result.status());
  Directory dir(ProviderOfSearch(*session), session->state.user);
  std::vector<UserId> senders;
  for (const auto& h : result->hits) senders.push_back(h.sender);
  dir.Prefetch(senders);
  const bool tty = isatty(STDOUT_FILENO) == 1;
  for (const auto& h : result->hits) {
    if (cli.opts.json) {
      cli.Out(SearchHitJson(h));
    } else {
      cli.Out(fmt::format("[{}] #{}  {}  {}: {}", dir.ConvLabel(h.conv), h.seq,
                          FormatTime(h.ms, now), dir.UserName(h.sender), MarkHighlights(h, tty)));
    }
  }
  if (result->hits.empty()) cli.Note("no messages found");
  if (!result->next.empty()) {
    if (cli.opts.json) {
      JsonWriter w;
      w.BeginObject().Key("next").String(result->next).EndObject();
      cli.Out(w.Take());
    } else {
      cli.Note("(more: repeat with --cursor " + result->next + ")");
    }
  }
  return kExitOk;
}

}  // namespace

void AddSearchCommands(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "search", "find messages by their words, newest first (Chinese: any 2+ characters)");
  auto a = std::make_shared<SearchCmdArgs>();
  sub->add_option("QUERY", a->words, "words; \"quoted words\" must appear together")->required();
  sub->add_option("--conv", a->conv, "only this conversation");
  sub->add_option("--from", a->from, "only messages from this user (name or id)");
  sub->add_option("--since", a->since,
                  "from this time: YYYY-MM-DD[THH:MM[:SS]] (local), or 3d / 12h / 30m ago");
  sub->add_option("--until", a->until, "before this time (same forms)");
  sub->add_flag("--relevance", a->relevance, "best matches first (among the 500 newest)");
  sub->add_option("--limit", a->limit, "hits per page (default 20)")->check(CLI::Range(1, 100));
  sub->add_option("--cursor", a->cursor, "the next page, as printed by the previous one");
  cli.Command(sub, [&cli, a] { return Search(cli, *a); });
}

}  // namespace parley::cli
