// ConnectionPool: the reader connections of a PgStore, shared by every thread that reads.
//
// Acquire() lends an idle connection or opens a new one up to `max_size`; when all are
// lent it waits (bounded) for one to come back. A lease whose connection broke drops it
// instead of returning it, so the next Acquire() connects afresh — to the new primary after
// a failover, since the URL lists every host.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/pg_conn.h"

namespace parley::pg {

struct ConnectionSettings {
  std::string url;
  std::string schema;
  std::string application_name;
};

class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->Return(std::move(conn_));
    }
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  ConnectionPool(ConnectionSettings settings, size_t max_size,
                 std::chrono::milliseconds wait = std::chrono::seconds(5))
      : settings_(std::move(settings)), max_size_(max_size), wait_(wait) {}

  Result<Lease> Acquire();

 private:
  void Return(std::unique_ptr<Connection> conn);

  const ConnectionSettings settings_;
  const size_t max_size_;
  const std::chrono::milliseconds wait_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_ = 0;  // lent + idle + being opened
};

}  // namespace parley::pg
