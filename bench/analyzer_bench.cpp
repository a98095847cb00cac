// Analyzer micro-benchmarks (Google Benchmark). Run on demand: build/bench/analyzer_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"

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

std::vector<llm_router::analyzer::KeywordSet> keyword_sets() {
  return {{"billing", {"invoice", "refund", "chargeback", "credit card"}, {}},
          {"ops", {"crash", "logs", "outage", "stack trace"}, {}}};
}

std::vector<llm_router::analyzer::SemanticSet> semantic_sets() {
  return {{"debugging", {"why does my code crash", "fix this bug"}, 0.3},
          {"summarise", {"summarize this document", "give me a summary"}, 0.3}};
}

// Signals of this module only: sentiment, PII, code, script/language, keywords, semantic sets.
const Analyzer& analyzer_without_models() {
  static const Analyzer instance = [] {
    const std::string root = LLM_ROUTER_SOURCE_DIR;
    auto sentiment = llm_router::analyzer::load_sentiment_model(
        root + "/data/sentiment/vader_lexicon.txt", root + "/config/models/sentiment.json");
    return Analyzer(AnalyzerSettings{}, {nullptr, nullptr, sentiment}, keyword_sets(),
                    semantic_sets());
  }();
  return instance;
}

// Everything, with the shipped category and complexity models.
const Analyzer& analyzer_with_models() {
  static const std::shared_ptr<const Analyzer> instance = [] {
    AnalyzerSettings settings;
    settings.category_model = "models/category.model";
    settings.complexity_model = "models/complexity.model";
    return llm_router::analyzer::make_analyzer(
        settings, std::string(LLM_ROUTER_SOURCE_DIR) + "/config", keyword_sets(), semantic_sets());
  }();
  return *instance;
}

// The request body's text, as the router hands it to the analyzer.
std::string body() {
  return nlohmann::json{{"model", "m"},
                        {"messages", {{{"role", "user"}, {"content", thousand_token_prompt()}}}}}
      .dump();
}

void BM_AnalyzeThousandTokensNoModels(benchmark::State& state) {
  const std::string request = body();
  for (auto _ : state)
    benchmark::DoNotOptimize(analyzer_without_models().analyze(std::string_view(request), {}));
}
BENCHMARK(BM_AnalyzeThousandTokensNoModels);

void BM_AnalyzeThousandTokensWithModels(benchmark::State& state) {
  const std::string request = body();
  for (auto _ : state)
    benchmark::DoNotOptimize(analyzer_with_models().analyze(std::string_view(request), {}));
}
BENCHMARK(BM_AnalyzeThousandTokensWithModels);

void BM_PiiThousandTokens(benchmark::State& state) {
  const std::string text = thousand_token_prompt();
  for (auto _ : state) benchmark::DoNotOptimize(llm_router::analyzer::detect_pii(text));
}
BENCHMARK(BM_PiiThousandTokens);

void BM_RecordIdsThousandTokens(benchmark::State& state) {
  const std::string text = thousand_token_prompt();
  for (auto _ : state) benchmark::DoNotOptimize(llm_router::analyzer::find_record_ids(text));
}
BENCHMARK(BM_RecordIdsThousandTokens);

void BM_EstimateThousandTokens(benchmark::State& state) {
  const std::string text = thousand_token_prompt();
  for (auto _ : state) benchmark::DoNotOptimize(llm_router::tokenizer::estimate_tokens(text));
}
BENCHMARK(BM_EstimateThousandTokens);

}  // namespace

BENCHMARK_MAIN();
