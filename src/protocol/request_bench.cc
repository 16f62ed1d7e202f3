// Cost of RequestParser::Parse on typical request frames (a send, a sync, a ping) and on
// a frame with many keys, the worst case of the duplicate-key check. Not a test: run
// build/release/protocol_request_bench by hand.
#include <benchmark/benchmark.h>

#include <string>

#include "protocol/request.h"

namespace parley {
namespace {

void ParseFrame(benchmark::State& state, const std::string& frame) {
  RequestParser parser;
  ParsedRequest r;
  for (auto _ : state) {
    Status st = parser.Parse(frame, &r);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}

void BM_ParseSend(benchmark::State& state) {
  ParseFrame(state, R"({"id":17,"op":"send","conv":12,"client_msg_id":"c-8f3a1b2c",)"
                    R"("body":"see you at the station at eight, bring the tickets"})");
}
BENCHMARK(BM_ParseSend);

void BM_ParseSync(benchmark::State& state) {
  ParseFrame(state, R"({"id":"s-42","op":"sync","since":1234567,"limit":100,"heads_since":99})");
}
BENCHMARK(BM_ParseSync);

void BM_ParsePing(benchmark::State& state) { ParseFrame(state, R"({"id":1,"op":"ping"})"); }
BENCHMARK(BM_ParsePing);

// 2,000 distinct unknown keys: the duplicate check must stay near-linear.
void BM_ParseManyKeys(benchmark::State& state) {
  std::string frame = R"({"id":1,"op":"ping")";
  for (int i = 0; i < 2000; ++i) frame += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  frame += "}";
  ParseFrame(state, frame);
}
BENCHMARK(BM_ParseManyKeys);

}  // namespace
}  // namespace parley

BENCHMARK_MAIN();
