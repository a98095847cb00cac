// Micro-benchmarks of the request path's pure pieces: body parse + model rewrite, selection,
// SSE parsing and framing. Run on demand: build/bench/hot_path_bench
#include <benchmark/benchmark.h>

#include "llm_router/api/openai_request.hpp"
#include "llm_router/api/sse.hpp"
#include "llm_router/config/config.hpp"
#include "llm_router/selector/selector.hpp"

namespace {

using namespace llm_router;

std::string chat_request() {
  std::string content;
  while (content.size() < 900)
    content += "Please explain how the connection pool handles retries. ";
  return R"({"model":"auto","temperature":0.2,"top_k":40,"messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":")" +
         content + R"("}],"stream":false})";
}

void BM_ParseAndRewrite(benchmark::State& state) {
  const std::string body = chat_request();
  for (auto _ : state) {
    auto parsed = api::parse_request(body, api::Endpoint::chat_completions);
    auto upstream = api::body_for_backend(*parsed, "gpt-4o-mini");
    benchmark::DoNotOptimize(upstream);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseAndRewrite);

const char* kConfig = R"(
backends:
  - {name: small, provider: mock, quality: 0.4, cost: {input_per_mtok: 0.15, output_per_mtok: 0.6}}
  - {name: large, provider: mock, quality: 0.9, cost: {input_per_mtok: 2.5, output_per_mtok: 10}}
  - {name: backup, provider: mock, quality: 0.7}
routes:
  - name: auto
    use: [small, backup]
    fallback: [large]
    rules:
      - {name: complex, when: {complexity: {min: 0.6}}, use: [large]}
      - {name: role, when: {header: {x-agent-role: planner}}, use: [large]}
      - {name: code, when: {category: [code, math]}, use: [large, backup]}
)";

void BM_SelectorPlan(benchmark::State& state) {
  auto config = std::make_shared<config::Config>(config::load_config_text(kConfig, "bench"));
  selector::Selector selector(config);
  selector::InMemoryLiveStats live(config->backends.size());
  selector::RequestFacts facts;
  facts.model = "auto";
  facts.category = "general_qa";
  facts.complexity = 0.3;
  facts.headers = {{"x-agent-role", "writer"}};
  for (auto _ : state) {
    auto plan = selector.plan(facts, live);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_SelectorPlan);

void BM_SseParseAndFrame(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 50; ++i) {
    stream +=
        R"(data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]})";
    stream += "\n\n";
  }
  for (auto _ : state) {
    api::SseParser parser;
    std::vector<api::SseEvent> events;
    for (size_t i = 0; i < stream.size(); i += 700) parser.feed(stream.substr(i, 700), events);
    std::string out;
    for (const auto& e : events) out += e.serialize();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * 50);
}
BENCHMARK(BM_SseParseAndFrame);

}  // namespace

BENCHMARK_MAIN();
