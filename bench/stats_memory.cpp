// Memory and read time of the rolling stats after an hour of a large config, every key busy in
// every slot on every io thread: 300 backends, 150 routes, 1,200 rules. Not a timing benchmark:
// the figures in docs/observability.md come from
//   build/bench/stats_memory 2 && build/bench/stats_memory 8
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "llm_router/metrics/stats.hpp"

namespace {

using namespace llm_router::metrics;

long resident_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

RequestSummary request(int rule, double latency) {
  RequestSummary s;
  s.id = "bench";
  s.status = 200;
  s.route = "route-" + std::to_string(rule % 150);
  s.rule = "rule-" + std::to_string(rule / 150);
  s.backend = "backend-" + std::to_string(rule % 300);
  s.category = "code";
  s.latency_seconds = latency;
  s.ttft_seconds = latency / 4;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t threads = argc > 1 ? std::stoul(argv[1]) : 2;
  auto now = WallClock::time_point(std::chrono::seconds(1'700'000'000));
  StatsHub hub(threads, {}, [&] { return now; });
  const long before = resident_kb();
  unsigned seed = 1;
  for (int slot = 0; slot < 360; ++slot) {
    for (std::size_t t = 0; t < threads; ++t) {
      for (int rule = 0; rule < 1200; ++rule) {
        seed = seed * 1103515245 + 12345;  // latencies spread over 0.2-3.2 s
        hub.shard(t).record(request(rule, 0.2 + (seed % 3000) / 1000.0));
      }
    }
    now += std::chrono::seconds(10);
  }
  const long after = resident_kb();
  const auto start = std::chrono::steady_clock::now();
  const auto doc = hub.to_json(std::chrono::seconds(3600));
  const auto built = std::chrono::steady_clock::now() - start;
  std::printf(
      "%zu io threads: stats hold %.1f MB after an hour; the 1 h answer (%zu requests) "
      "took %.0f ms to build\n",
      threads, static_cast<double>(after - before) / 1024.0,
      doc["total"]["requests"].get<std::size_t>(),
      std::chrono::duration<double, std::milli>(built).count());
}
