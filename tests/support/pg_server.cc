#include "tests/support/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "tests/support/ports.h"

namespace parley::test {

namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin/";

// Runs `argv` as the postgres user when we are root; its pid. Output goes to `log`.
// Everything the child needs is prepared before fork(): between fork and exec a
// multi-threaded parent's child may only make async-signal-safe calls (no getpwnam, no
// malloc).
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  const bool as_postgres = ::getuid() == 0;
  uid_t uid = 0;
  gid_t gid = 0;
  if (as_postgres) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) return -1;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  if (as_postgres && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
    ::_exit(126);
  }
  ::execv(args[0], args.data());
  ::_exit(127);
}

int WaitExit(pid_t pid) {
  if (pid <= 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Status ChownToPostgres(const std::string& path) {
  if (::getuid() != 0) return Status::Ok();
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr)
    return Status(Code::kFailedPrecondition, "no postgres user (install postgresql-15)");
  if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return Status(Code::kIOError, "chown " + path);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<PgServer>> PgServer::Start(const Options& options) {
  std::unique_ptr<PgServer> server(new PgServer());
  server->options_ = options;
  server->dir_.emplace("parley-pg-");
  const std::string& dir = server->dir_->path();
  // The temporary directory is private to root; postgres must reach its data below it.
  ::chmod(dir.c_str(), 0755);
  PARLEY_RETURN_IF_ERROR(ChownToPostgres(dir));
  server->data_ = dir + "/data";
  pid_t pid = Spawn({std::string(kBin) + "initdb", "-D", server->data_, "-U", "parley",
                     "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"},
                    dir + "/initdb.log");
  if (WaitExit(pid) != 0) {
    return Status(Code::kUnavailable, "initdb failed; see " + dir + "/initdb.log");
  }
  Status st;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto port = FreeLoopbackPort();
    PARLEY_RETURN_IF_ERROR(port.status());
    server->port_ = *port;
    st = server->Launch();
    if (st.ok()) break;
  }
  PARLEY_RETURN_IF_ERROR(st);
  // The database the suites use.
  PGconn* conn = PQconnectdb(
      ("host=127.0.0.1 port=" + std::to_string(server->port_) + " user=parley dbname=postgres")
          .c_str());
  PGresult* r = PQexec(conn, "CREATE DATABASE parley");
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string error = PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!ok) return Status(Code::kUnavailable, "create database: " + error);
  return server;
}

Status PgServer::Launch() {
  std::vector<std::string> argv = {std::string(kBin) + "postgres",
                                   "-D",
                                   data_,
                                   "-p",
                                   std::to_string(port_),
                                   "-k",
                                   dir_->path(),
                                   "-c",
                                   "listen_addresses=127.0.0.1",
                                   "-c",
                                   "max_connections=" + std::to_string(options_.max_connections),
                                   "-c",
                                   "shared_buffers=32MB"};
  if (!options_.durable) {
    for (const char* s : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
      argv.push_back("-c");
      argv.push_back(s);
    }
  }
  pid_ = Spawn(argv, dir_->path() + "/postgres.log");
  if (pid_ <= 0) return Status(Code::kUnavailable, "cannot start postgres (no postgres user?)");
  Status st = WaitReady(30000);
  if (!st.ok()) Kill();
  return st;
}

Status PgServer::WaitReady(int timeout_ms) {
  const std::string info = "host=127.0.0.1 port=" + std::to_string(port_) +
                           " dbname=postgres user=parley connect_timeout=2";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(info.c_str()) == PQPING_OK) return Status::Ok();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status(Code::kUnavailable, "postgres exited; see " + dir_->path() + "/postgres.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll interval, not a wait
  }
  return Status(Code::kUnavailable,
                "postgres not ready in time; see " + dir_->path() + "/postgres.log");
}

std::string PgServer::Url() const {
  return "postgresql://parley@127.0.0.1:" + std::to_string(port_) + "/parley";
}

void PgServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  // The postmaster's children notice it is gone and exit on their own; wait until the port
  // is free so a restart can bind it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::string info = "host=127.0.0.1 port=" + std::to_string(port_) +
                           " dbname=postgres user=parley connect_timeout=1";
  while (std::chrono::steady_clock::now() < deadline &&
         PQping(info.c_str()) != PQPING_NO_RESPONSE) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status PgServer::Restart() {
  Kill();
  // Backends of the killed postmaster may hold shared memory a little longer; retry.
  Status st;
  for (int attempt = 0; attempt < 20; ++attempt) {
    st = Launch();
    if (st.ok()) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return st;
}

PgServer::~PgServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGQUIT);  // immediate shutdown: the directory goes away next
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::waitpid(pid_, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
  }
}

PgServer& PgServer::Shared() {
  static std::unique_ptr<PgServer> shared = [] {
    auto s = Start(Options{});
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start PostgreSQL for the tests: %s\n",
                   s.status().ToString().c_str());
      std::abort();
    }
    return std::move(s).value();
  }();
  return *shared;
}

}  // namespace parley::test
