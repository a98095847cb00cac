// Analyzer micro-benchmarks (Google Benchmark). Needs an entry in bench/CMakeLists.txt, e.g.
//   add_executable(analyzer_bench analyzer_bench.cpp)
//   target_link_libraries(analyzer_bench PRIVATE llm_router_pure benchmark::benchmark_main)
//   target_compile_definitions(analyzer_bench PRIVATE LLM_ROUTER_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
#include <benchmark/benchmark.h>

#include <string>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/detectors.hpp"

namespace {

using llm_router::analyzer::Analyzer;
using llm_router::analyzer::AnalyzerSettings;

// About 1,000 tokens of mixed prose, numbers and a little code.
std::string thousand_token_prompt() {
  const std::string paragraph =
      "I'm really not happy with the last release: the export job failed twice and support "
      "took three days to answer. Could you summarise the logs below, explain why the job "
      "crashed, and suggest a fix? The server is 10.0.3.17 and the run started at 2024-05-01. "
      "def export(rows):\n    for r in rows:\n        write(r)\n";
  std::string text;
  while (text.size() < 4000) text += paragraph;
  return text.substr(0, 4000);
}

const Analyzer& analyzer() {
  static const Analyzer instance = [] {
    AnalyzerSettings settings;
    auto sentiment = llm_router::analyzer::load_sentiment_model(
        std::string(LLM_ROUTER_SOURCE_DIR) + "/data/sentiment/vader_lexicon.txt",
        std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/sentiment.json");
    return Analyzer(settings, {nullptr, nullptr, sentiment},
                    {{"billing", {"invoice", "refund", "charge"}, {R"(order #\d+)"}},
                     {"ops", {"crash", "logs", "outage"}, {R"(\berror code \d+)"}}},
                    {{"debugging", {"why does my code crash", "fix this bug"}, 0.3},
                     {"summarise", {"summarize this document", "give me a summary"}, 0.3}});
  }();
  return instance;
}

void BM_AnalyzeThousandTokens(benchmark::State& state) {
  const nlohmann::json body = {
      {"model", "m"}, {"messages", {{{"role", "user"}, {"content", thousand_token_prompt()}}}}};
  for (auto _ : state) benchmark::DoNotOptimize(analyzer().analyze(body, {}));
}
BENCHMARK(BM_AnalyzeThousandTokens);

void BM_PiiThousandTokens(benchmark::State& state) {
  const std::string text = thousand_token_prompt();
  for (auto _ : state) benchmark::DoNotOptimize(llm_router::analyzer::detect_pii(text));
}
BENCHMARK(BM_PiiThousandTokens);

}  // namespace
