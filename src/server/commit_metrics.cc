#include "server/commit_metrics.h"

#include <chrono>

#include "metrics/stages.h"

namespace parley {

CommitFeed::Subscription FollowCommitMetrics(CommitFeed& feed, metrics::Registry& registry,
                                             const std::vector<std::string>& subscribers) {
  auto& batch = registry.histogram("parley_commit_batch_requests",
                                   "Requests folded into each durable commit.",
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192});
  auto& delay = registry.histogram(
      "parley_commit_feed_delay_seconds",
      "From a durable commit to the start of its delivery to the hub and the indexer.",
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
       5});
  auto& feed_wait = metrics::StageHistogram(registry, "feed_wait");
  registry.gauge_fn("parley_commit_feed_queue", "Durable commits waiting for delivery.",
                    [&feed] { return static_cast<double>(feed.stats().queued); });
  registry.gauge_fn("parley_commit_feed_dropped_total",
                    "Commits the feed dropped because its queue was full (their sessions got "
                    "a resync push instead).",
                    [&feed] { return static_cast<double>(feed.stats().dropped); });
  for (const std::string& name : subscribers) {
    registry.gauge_fn("parley_commit_feed_busy_seconds_total",
                      "Time each feed subscriber spent on commits.",
                      [&feed, name] { return feed.busy_seconds(name); }, {{"subscriber", name}});
  }
  // Subscribed first: the delay it sees is the wait in the queue alone.
  return feed.Subscribe("metrics", [&batch, &delay, &feed_wait](const CommitFeed::Notice& notice) {
    batch.Observe(static_cast<double>(notice->tasks));
    const double waited = metrics::SecondsSince(notice->committed_at);
    delay.Observe(waited);
    feed_wait.Observe(waited);
  });
}

}  // namespace parley
