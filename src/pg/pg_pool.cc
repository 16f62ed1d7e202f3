#include "pg/pg_pool.h"

namespace parley::pg {

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    const bool got = cv_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < max_size_; });
    if (!got) return Status(Code::kUnavailable, "postgres: every reader connection is busy");
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // reserve the slot, connect outside the lock
  }
  auto conn = Connection::Open(settings_.url, settings_.schema, settings_.application_name);
  if (!conn.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(conn).value());
}

void ConnectionPool::Return(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  // A connection left inside a transaction or pipeline by an error is not reused either.
  if (conn->is_broken() || conn->transaction_status() != PQTRANS_IDLE) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace parley::pg
