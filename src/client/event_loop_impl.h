// The inside of EventLoop, for the client library's own translation units only (it pulls
// in Asio). Not installed with the public headers.
#pragma once

#include <utility>  // before Asio: g++ 12 in C++20 mode needs it (see PLATFORM.md)

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "client/event_loop.h"

namespace parley::client {

struct EventLoop::Impl {
  boost::asio::io_context io;
  // Keeps run() from returning while no connection has work pending.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
  std::mutex mu;  // guards threads
  std::vector<std::thread> threads;
};

}  // namespace parley::client
