#include "cluster/hiredis_asio.h"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>

namespace parley::cluster {
namespace {

namespace asio = boost::asio;

// One per context. Shared by the pending waits, so that a wait completing after hiredis
// freed the context (cleanup ran inside redisAsyncHandleRead) finds `ac` null instead of
// a dangling adapter.
struct Watcher : std::enable_shared_from_this<Watcher> {
  Watcher(asio::io_context& io, redisAsyncContext* context) : fd(io, context->c.fd), ac(context) {}

  asio::posix::stream_descriptor fd;
  redisAsyncContext* ac;  // null once hiredis has cleaned up
  bool want_read = false;
  bool want_write = false;
  bool read_waiting = false;
  bool write_waiting = false;

  void ArmRead() {
    if (!ac || !want_read || read_waiting) return;
    read_waiting = true;
    fd.async_wait(asio::posix::descriptor_base::wait_read,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    self->read_waiting = false;
                    if (ec || !self->ac || !self->want_read) return;
                    redisAsyncHandleRead(self->ac);  // may free the context (cleanup)
                    self->ArmRead();
                  });
  }
  void ArmWrite() {
    if (!ac || !want_write || write_waiting) return;
    write_waiting = true;
    fd.async_wait(asio::posix::descriptor_base::wait_write,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    self->write_waiting = false;
                    if (ec || !self->ac || !self->want_write) return;
                    redisAsyncHandleWrite(self->ac);  // may free the context (cleanup)
                    self->ArmWrite();
                  });
  }
};

// ev.data holds a heap shared_ptr: the context's own reference, dropped in cleanup.
Watcher& Of(void* data) { return **static_cast<std::shared_ptr<Watcher>*>(data); }

void AddRead(void* data) {
  Of(data).want_read = true;
  Of(data).ArmRead();
}
void DelRead(void* data) { Of(data).want_read = false; }
void AddWrite(void* data) {
  Of(data).want_write = true;
  Of(data).ArmWrite();
}
void DelWrite(void* data) { Of(data).want_write = false; }
void Cleanup(void* data) {
  auto* ref = static_cast<std::shared_ptr<Watcher>*>(data);
  Watcher& w = **ref;
  w.ac->ev.data = nullptr;
  w.ac = nullptr;
  w.want_read = w.want_write = false;
  // Cancels the waits (they complete with operation_aborted) and gives the fd back:
  // hiredis closes it.
  boost::system::error_code ignored;
  w.fd.cancel(ignored);
  (void)w.fd.release();
  delete ref;
}

}  // namespace

void AttachToAsio(redisAsyncContext* ac, asio::io_context& io) {
  auto* ref = new std::shared_ptr<Watcher>(std::make_shared<Watcher>(io, ac));
  ac->ev.data = ref;
  ac->ev.addRead = AddRead;
  ac->ev.delRead = DelRead;
  ac->ev.addWrite = AddWrite;
  ac->ev.delWrite = DelWrite;
  ac->ev.cleanup = Cleanup;
  AddWrite(ref);  // writable = the non-blocking connect finished (or failed)
}

}  // namespace parley::cluster
