#include "crowd.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <thread>

#include "protocol/decode.h"

namespace parley::bench {
namespace {

constexpr int kMembersInFlight = 48;  // below the server's hashing queue (64)

}  // namespace

void RaiseOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string CrowdSourceAddress(int i) { return fmt::format("127.0.0.{}", 2 + i % 64); }

Crowd::Crowd(std::string url, std::string prefix)
    : url_(std::move(url)), prefix_(std::move(prefix)) {}

Crowd::~Crowd() {
  Close();
  loop_.Stop();  // no handler may run once the members are gone
}

JobEnd Crowd::Failed(int i, const Status& status, int64_t retry_after_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conns_[i]) conns_[i]->Close();
    conns_[i].reset();
  }
  const bool retry = client::IsTransportError(status) || status.code() == Code::kUnavailable ||
                     status.code() == Code::kRateLimited;
  if (retry) return {JobEnd::kRetry, std::max<int64_t>(retry_after_ms, 50)};
  std::lock_guard<std::mutex> lock(mu_);
  if (first_error_.empty()) first_error_ = status.ToString();
  return {JobEnd::kFailed, 0};
}

void Crowd::MakeMember(int i, std::function<void(JobEnd)> end) {
  client::ConnectOptions o;
  o.url = url_;
  o.bind_address = CrowdSourceAddress(i);
  o.connect_timeout_ms = 30000;
  auto c = client::Connection::Create(loop_, o);
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns_[i] = c;
  }
  const std::string name = prefix_ + std::to_string(i);
  const std::string password = name + "-bench-password";
  auto login = [this, c, i, end, name, password] {
    c->Call(
        "login",
        [&](JsonWriter& w) {
          w.Key("name").String(name).Key("password").String(password).Key("device").String("crowd");
        },
        [this, i, end](Result<std::string> r, int64_t retry_after_ms) {
          if (!r.ok()) return end(Failed(i, r.status(), retry_after_ms));
          auto reply = DecodeLogin(*r);
          if (!reply.ok()) return end(Failed(i, reply.status(), -1));
          {
            std::lock_guard<std::mutex> lock(mu_);
            accounts_[i] = Account{reply->user, reply->name, reply->token, reply->device};
          }
          end({JobEnd::kDone, 0});
        });
  };
  c->Connect([this, c, i, end, name, password, login](Status st) {
    if (!st.ok()) return end(Failed(i, st, 100));
    c->Call(
        "register",
        [&](JsonWriter& w) { w.Key("name").String(name).Key("password").String(password); },
        [this, i, end, login](Result<std::string> r, int64_t retry_after_ms) {
          if (!r.ok() && r.status().code() != Code::kAlreadyExists) {
            return end(Failed(i, r.status(), retry_after_ms));
          }
          login();
        });
  });
}

Status Crowd::GrowTo(int size, std::chrono::seconds limit) {
  const int from = this->size();
  if (size <= from) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(mu_);
    accounts_.resize(size);
    conns_.resize(size);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  PipelineOutcome out = RunPipelined(
      size - from, kMembersInFlight, deadline,
      [this, from](int job, std::function<void(JobEnd)> end) { MakeMember(from + job, end); });
  if (out.done == size - from) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  return Status(Code::kUnavailable,
                fmt::format("crowd: {} of {} users not logged in ({} failed, {} timed out); first "
                            "error: {}",
                            size - from - out.done, size - from, out.failed, out.unfinished,
                            first_error_.empty() ? "none" : first_error_));
}

void Crowd::Close() {
  std::vector<std::shared_ptr<client::Connection>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing.swap(conns_);
    conns_.resize(closing.size());
  }
  for (auto& c : closing) {
    if (c) c->Close();
  }
  // Their sockets are released as the closes complete: wait (bounded) so that a phase
  // after this one has the file descriptors back.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (auto& c : closing) {
    while (c && c->open() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

}  // namespace parley::bench
