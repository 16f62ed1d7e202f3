#include "client/event_loop.h"

#include <utility>  // before Asio (PLATFORM.md)

#include <boost/asio/post.hpp>

#include "client/event_loop_impl.h"

namespace parley::client {

EventLoop::EventLoop(size_t threads)
    : threads_(std::max<size_t>(1, threads)), impl_(std::make_unique<Impl>()) {
  Start();
}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->threads.empty()) return;
  impl_->io.restart();
  impl_->guard.emplace(impl_->io.get_executor());
  for (size_t i = 0; i < threads_; ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

void EventLoop::Stop() {
  if (InLoopThread()) {
    // Joining ourselves would deadlock: stop the loop; a later Stop() from outside (or the
    // destructor) joins the threads.
    impl_->io.stop();
    return;
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    threads.swap(impl_->threads);
    impl_->guard.reset();
    impl_->io.stop();
  }
  for (auto& t : threads) t.join();
}

bool EventLoop::running() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return !impl_->threads.empty();
}

void EventLoop::Post(std::function<void()> fn) { boost::asio::post(impl_->io, std::move(fn)); }

bool EventLoop::InLoopThread() const { return impl_->io.get_executor().running_in_this_thread(); }

}  // namespace parley::client
