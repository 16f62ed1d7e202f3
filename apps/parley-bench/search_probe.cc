#include "search_probe.h"

#include <fmt/format.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <vector>

#include "client/blocking_client.h"
#include "net_common.h"

namespace parley::bench {

namespace {

using client::BlockingClient;

constexpr int kSearchers = 3;  // connections of the searching user (spread by the balancer)

std::unique_ptr<BlockingClient> Open(const std::string& url) {
  client::ConnectOptions o;
  o.url = url;
  auto c = std::make_unique<BlockingClient>(o, std::chrono::seconds(30));
  if (!c->Connect().ok()) return nullptr;
  return c;
}

// Letters only, so that every tokenizer keeps it one word.
std::string RandomWord(std::mt19937_64& rng) {
  std::string w = "zq";
  for (int i = 0; i < 12; ++i) w += static_cast<char>('a' + rng() % 26);
  return w;
}

}  // namespace

void SearchVisibilityProbe::Start() {
  thread_ = std::thread([this] { Run(); });
}

VisibilityFigures SearchVisibilityProbe::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return figures_;
}

void SearchVisibilityProbe::Run() {
  auto fail = [this](const std::string& why) {
    fmt::print(stderr, "search probe: {}\n", why);
    figures_.errors++;
  };
  const std::string prefix = fmt::format("visprobe{}x", ::getpid());
  auto accounts = Provision(url_, prefix, 2);
  if (!accounts.ok()) return fail(accounts.status().ToString());
  const Account& sender_account = (*accounts)[0];
  const Account& reader_account = (*accounts)[1];
  auto sender = Open(url_);
  if (!sender || !sender->Auth(sender_account.token, sender_account.device).ok()) {
    return fail("the sender cannot connect");
  }
  std::vector<std::unique_ptr<BlockingClient>> readers;
  for (int i = 0; i < kSearchers; ++i) {
    auto r = Open(url_);
    if (!r || !r->Auth(reader_account.token, reader_account.device).ok()) {
      return fail("a searcher cannot connect");
    }
    readers.push_back(std::move(r));
  }
  std::mt19937_64 rng(std::random_device{}());
  size_t next_reader = 0;
  // Bounded: one probe per interval at most until Stop, each bounded by give_up.
  while (!stop_) {
    const auto started = std::chrono::steady_clock::now();
    const std::string word = RandomWord(rng);
    auto ack = sender->SendTo(client::UserArg{reader_account.name}, "probe " + word);
    if (!ack.ok()) {
      fail("send: " + ack.status().ToString());
    } else {
      const auto acked = std::chrono::steady_clock::now();
      figures_.probes++;
      bool found = false;
      while (!found && std::chrono::steady_clock::now() - acked < give_up_) {
        client::SearchArgs args;
        args.q = word;
        args.conv = ack->conv_id;
        auto r = readers[next_reader++ % readers.size()]->Search(args);
        if (r.status().code() == Code::kRateLimited) {
          // Each connection may search about 10 times a second: a client waits and asks
          // again (the wait is part of what it sees).
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        if (!r.ok()) {
          fail("search: " + r.status().ToString());
          break;
        }
        found = !r->hits.empty();
        // Three connections polled in turn every 30 ms: each searches ~11 times a second.
        if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(30));
      }
      if (found) {
        figures_.visible.Add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - acked)
                                 .count());
      } else {
        figures_.missed++;
      }
    }
    const auto next = started + interval_;
    while (!stop_ && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the probe's pacing
    }
  }
}

}  // namespace parley::bench
