#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "tests/support/ports.h"

namespace parley::testing {
namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";

std::string ReplyText(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (size_t i = 0; i < r->elements; ++i) {
        if (i > 0) out += '\n';
        out += ReplyText(r->element[i]);
      }
      return out;
    }
    default:
      return std::string(r->str, r->len);
  }
}

}  // namespace

Result<std::unique_ptr<RedisServer>> RedisServer::Launch(std::chrono::milliseconds ready_timeout) {
  if (::access(kRedisServer, X_OK) != 0) {
    return Status(Code::kNotFound, "redis-server is not installed (scripts/install-deps.sh)");
  }
  std::unique_ptr<RedisServer> server(new RedisServer());
  PARLEY_ASSIGN_OR_RETURN(server->port_, test::FreeLoopbackPort());
  PARLEY_RETURN_IF_ERROR(server->Start(ready_timeout));
  return server;
}

RedisServer::~RedisServer() { Stop(); }

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

Status RedisServer::Start(std::chrono::milliseconds ready_timeout) {
  if (pid_ > 0) return Status::Ok();
  const std::string port = std::to_string(port_);
  const std::string log = dir_.Sub("redis.log");
  std::vector<std::string> args = {kRedisServer, "--port", port, "--bind", "127.0.0.1", "--save",
                                   "", "--appendonly", "no", "--dir", dir_.path(), "--daemonize",
                                   "no", "--logfile", log,
                                   // DEBUG SLEEP: tests of a server that stops answering.
                                   "--enable-debug-command", "local"};
  // Built before fork(): the child of a multi-threaded parent must not allocate.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Status(Code::kIOError, "fork failed");
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto pong = Command({"PING"});
    if (pong.ok() && *pong == "PONG") return Status::Ok();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status(Code::kIOError, "redis-server exited at start (see " + log + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  Stop();
  return Status(Code::kUnavailable, "redis-server did not answer PING in time");
}

Result<std::string> RedisServer::Command(const std::vector<std::string>& args) const {
  timeval timeout{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return Status(Code::kUnavailable, "cannot connect to redis");
  }
  redisSetTimeout(c, timeout);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (reply == nullptr) {
    redisFree(c);
    return Status(Code::kUnavailable, "no reply from redis");
  }
  std::string text = ReplyText(reply);
  const bool error = reply->type == REDIS_REPLY_ERROR;
  freeReplyObject(reply);
  redisFree(c);
  if (error) return Status(Code::kInternal, text);
  return text;
}

}  // namespace parley::testing
