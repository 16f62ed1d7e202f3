// Await: turns a callback-style service call into a blocking one, for callers that own a
// thread (tests, the CLI, blocking handlers). Never call it on the sequencer thread.
#pragma once

#include <functional>
#include <future>

#include "common/status.h"
#include "model/api_types.h"

namespace parley {

// `start` receives the callback to complete; Await blocks until it is called.
template <typename T, typename Start>
Result<T> Await(Start&& start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace parley
