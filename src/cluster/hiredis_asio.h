// Drives a hiredis async context from a Boost.Asio io_context. hiredis has no Asio
// adapter: it asks its event library to watch the socket through five hooks
// (ev.addRead/delRead/addWrite/delWrite/cleanup); AttachToAsio implements them with an
// asio::posix::stream_descriptor that waits for readiness and calls
// redisAsyncHandleRead/Write. The descriptor never owns the fd: hiredis closes it in
// redisFree, so cleanup release()s it from Asio first (a double close could hit an fd
// another thread has just opened).
//
// Thread-safety: the context and this adapter belong to the io_context's thread; attach,
// issue commands and free the context only there.
#pragma once

#include <hiredis/async.h>

#include <boost/asio/io_context.hpp>

namespace parley::cluster {

// Installs the hooks on `ac` (freshly connected, not yet attached). The adapter lives
// until hiredis calls cleanup (redisAsyncFree, or a connection error). Also starts
// waiting for writability, which is how a non-blocking connect completes.
void AttachToAsio(redisAsyncContext* ac, boost::asio::io_context& io);

}  // namespace parley::cluster
