// The commit feed's metrics: how many requests each durable commit folds in, how long a
// commit waits in the feed before its pushes go out, how many commits wait, how many were
// dropped, and how long each subscriber spends on them.
//
// Thread-safety: as metrics::Registry (register at start-up).
#pragma once

#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "service/commit_feed.h"

namespace parley {

// Subscribes the metrics to `feed` (keep the subscription while `registry` lives) and
// registers the feed's gauges; `subscribers` names the subscribers whose busy time is
// exported. `feed` must outlive `registry`'s scrapes.
[[nodiscard]] CommitFeed::Subscription FollowCommitMetrics(
    CommitFeed& feed, metrics::Registry& registry, const std::vector<std::string>& subscribers);

}  // namespace parley
