// crash_writer DATA_DIR COUNT [THREADS]: the child process of crash_test
// (src/service/crash_test.cc).
//
// Opens the store in DATA_DIR with fsync-before-ack durability, makes (or finds) the users
// "crash_a" and "crash_b" and their direct conversation, then sends COUNT messages from
// THREADS threads (default 4), each thread one message after another. After every
// acknowledgement it writes "seq msg_id client_msg_id\n" to stdout and flushes, so the
// parent knows exactly what was acknowledged when it kills this process with SIGKILL.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service/core.h"
#include "store/rocks_store.h"
#include "tests/support/users.h"

namespace parley {
namespace {

[[noreturn]] void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "crash_writer: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

int Run(const std::string& dir, long count, int threads) {
  auto store = OpenRocksStore(dir);
  if (!store.ok()) Die("open store", store.status());
  ServiceConfig config;
  config.durability = Durability::kSync;
  auto opened = Core::Open(std::move(store).value(), config);
  if (!opened.ok()) Die("open core", opened.status());
  Core& core = **opened;

  const std::string names[] = {"crash_a", "crash_b"};
  auto found = test::FindOrCreateUsers(core, names);
  if (!found.ok()) Die("create users", found.status());
  const std::vector<UserId> users = std::move(found).value();
  auto conv = core.conversations().OpenDirect(users[0], users[1]);
  if (!conv.ok()) Die("open conversation", conv.status());

  std::string run = "w";  // client_msg_ids unique across runs: w<pid>-<n>
  run += std::to_string(getpid());
  std::atomic<long> next{0};
  std::mutex out_mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const Identity who{users[t % 2], "writer"};
      for (long i = next++; i < count; i = next++) {
        SendRequest req;
        req.conv_id = conv->id;
        req.client_msg_id = run;
        req.client_msg_id += '-';
        req.client_msg_id += std::to_string(i);
        req.body = "crash test message ";
        req.body += req.client_msg_id;
        auto ack = core.messages().SendSync(who, req);
        if (!ack.ok()) Die("send " + req.client_msg_id, ack.status());
        std::lock_guard<std::mutex> lock(out_mu);
        std::fprintf(stdout, "%llu %llu %s\n", static_cast<unsigned long long>(ack->seq),
                     static_cast<unsigned long long>(ack->msg_id), req.client_msg_id.c_str());
        std::fflush(stdout);
      }
    });
  }
  for (auto& w : workers) w.join();
  core.Shutdown();
  return 0;
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR COUNT [THREADS]\n");
    return 2;
  }
  long count = std::strtol(argv[2], nullptr, 10);
  int threads = argc == 4 ? std::atoi(argv[3]) : 4;
  if (count <= 0 || threads <= 0 || threads > 64) {
    std::fprintf(stderr, "crash_writer: bad COUNT or THREADS\n");
    return 2;
  }
  return parley::Run(argv[1], count, threads);
}
