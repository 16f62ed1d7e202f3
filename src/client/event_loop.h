// EventLoop: the threads that run the client library's asynchronous I/O. It owns an Asio
// io_context and N threads running it, so callers never touch Asio (this header includes
// no Boost: the CLI, tests and benchmark compile fast).
//
// One loop serves any number of Connections: the benchmark runs ~9,000 on one or two
// threads. Threads are per loop, never per connection.
//
// Lifetime: every Connection created on a loop must be released (Close() it and drop the
// shared_ptr) before the loop is destroyed.
//
// Thread-safety: Start/Stop/Post are thread-safe; Stop must not be called from a loop
// thread (it joins them).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace parley::client {

class EventLoop {
 public:
  // Starts `threads` threads (at least one) right away.
  explicit EventLoop(size_t threads = 1);
  ~EventLoop();  // Stop()
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Restarts the threads after Stop(); a no-op while running.
  void Start();
  // Stops running handlers and joins the threads. Pending work stays queued and runs
  // after a later Start().
  void Stop();
  size_t threads() const { return threads_; }
  bool running() const;
  // Runs `fn` on a loop thread.
  void Post(std::function<void()> fn);
  // True on one of this loop's threads.
  bool InLoopThread() const;

  struct Impl;  // in event_loop_impl.h, for the library's own translation units
  Impl& impl() { return *impl_; }

 private:
  size_t threads_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::client
