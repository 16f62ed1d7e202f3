// `parley admin reindex --data DIR` rebuilds the search index from the store: it deletes
// DIR/search and indexes the whole change feed again. The store is opened directly, so
// parleyd must not be running (its lock on the store makes this fail with a clear
// message otherwise). A running parleyd rebuilds a missing index by itself, in the
// background, so deleting DIR/search and restarting does the same without downtime for
// sync; this command is for doing it ahead, and for seeing how long it takes.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "admin_commands.h"
#include "cli.h"
#include "offline_commands.h"
#include "search/indexer.h"
#include "search/search_index.h"
#include "store/rocks_store.h"

namespace parley::cli {
namespace {

int Reindex(Cli& cli, const std::string& data_dir) {
  if (!std::filesystem::is_directory(data_dir)) {
    return cli.Usage("--data " + data_dir + ": no such directory");
  }
  auto store = OpenRocksStore(data_dir);
  if (!store.ok()) {
    return cli.Fail(Status(
        store.status().code(),
        std::string(store.status().message()) + " (is parleyd still running? stop it first)"));
  }
  const std::filesystem::path dir = std::filesystem::path(data_dir) / "search";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return cli.Fail(Status(Code::kIOError, "remove " + dir.string() + ": " + ec.message()));
  bool rebuilt = false;
  auto index = search::SearchIndex::Open((dir / "index.db").string(), &rebuilt);
  if (!index.ok()) return cli.Fail(index.status());
  const auto start = std::chrono::steady_clock::now();
  search::Indexer indexer(**store, **index);
  if (Status st = indexer.CatchUp(); !st.ok()) return cli.Fail(st);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto docs = (*index)->docs();
  if (!docs.ok()) return cli.Fail(docs.status());
  cli.Out(cli.opts.json
              ? fmt::format(R"({{"documents":{},"checkpoint":{},"seconds":{:.3f}}})", *docs,
                            (*index)->checkpoint(), seconds)
              : fmt::format("search index rebuilt: {} messages, up to change {}, in {:.1f} s",
                            *docs, (*index)->checkpoint(), seconds));
  return kExitOk;
}

}  // namespace

void AddReindexCommand(CLI::App& admin, Cli& cli) {
  auto* sub = admin.add_subcommand(kReindexCommand.name, kReindexCommand.description);
  auto data = std::make_shared<std::string>("./data");
  sub->add_option("--data", *data, "the server's data directory (default ./data)");
  cli.Command(sub, [&cli, data] { return Reindex(cli, *data); });
}

}  // namespace parley::cli
