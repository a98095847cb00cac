// Predict latency of the shipped classifier models on a ~1,000-token prompt.
// Run: build/bench/classifier_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "llm_router/classifier/featurizer.hpp"
#include "llm_router/classifier/linear_model.hpp"

namespace {

using llm_router::classifier::load_linear_model;

const std::string kModelDir = std::string(LLM_ROUTER_SOURCE_DIR) + "/config/models/";

// About 1,000 tokens of English-like text with numbers and punctuation (~4,300 characters).
std::string long_prompt() {
  static const char* const kWords[] = {
      "the",      "model",   "request", "of",        "routing", "a",        "latency",   "and",
      "question", "answer",  "context", "summarize", "python",  "function", "returns",   "list",
      "because",  "however", "which",   "between",   "should",  "explain",  "following", "data",
      "customer", "invoice", "total",   "percent",   "compute", "average",  "graph",     "node"};
  std::mt19937 rng(1);
  std::string text = "Please read the following report and answer the questions at the end.\n\n";
  for (int i = 0; text.size() < 4300; ++i) {
    text += kWords[rng() % std::size(kWords)];
    if (i % 17 == 16) text += ", " + std::to_string(rng() % 1000);
    text += i % 23 == 22 ? ". " : " ";
  }
  return text + "\nWhat is the total, and which step matters most?";
}

void predict(benchmark::State& state, const std::string& file) {
  const auto model = load_linear_model(kModelDir + file);
  const auto text = long_prompt();
  std::vector<float> probabilities(model->labels().size());
  for (auto _ : state) {
    model->predict(text, probabilities);
    benchmark::DoNotOptimize(probabilities.data());
  }
  state.counters["chars"] = static_cast<double>(text.size());
}

void BM_PredictCategory(benchmark::State& state) {
  predict(state, "category.model");
}
void BM_PredictComplexity(benchmark::State& state) {
  predict(state, "complexity.model");
}

// Both shipped models, their shared featurizer and a score vector each, for the benchmarks
// that run them on one featurization.
struct BothModels {
  std::shared_ptr<const llm_router::classifier::LinearModel> category =
      load_linear_model(kModelDir + "category.model");
  std::shared_ptr<const llm_router::classifier::LinearModel> complexity =
      load_linear_model(kModelDir + "complexity.model");
  std::optional<llm_router::classifier::FeaturizerConfig> config =
      llm_router::classifier::shared_featurizer_config(category->featurizer_config(),
                                                       complexity->featurizer_config());
  std::vector<float> category_scores = std::vector<float>(category->labels().size());
  std::vector<float> complexity_scores = std::vector<float>(complexity->labels().size());
};

// Both shipped models on one text, featurized once, one model after the other.
void BM_PredictBothShared(benchmark::State& state) {
  BothModels m;
  if (!m.config) return state.SkipWithError("models cannot share features");
  const auto text = long_prompt();
  llm_router::classifier::FeatureScratch scratch;
  for (auto _ : state) {
    featurize(*m.config, text, scratch);
    m.category->predict_shared(scratch, m.category_scores);
    m.complexity->predict_shared(scratch, m.complexity_scores);
    benchmark::DoNotOptimize(m.category_scores.data());
    benchmark::DoNotOptimize(m.complexity_scores.data());
  }
}

// The analyzer's path: one featurization without the value pass, both models in one loop.
void BM_PredictBothPaired(benchmark::State& state) {
  BothModels m;
  if (!m.config) return state.SkipWithError("models cannot share features");
  const auto text = long_prompt();
  llm_router::classifier::FeatureScratch scratch;
  for (auto _ : state) {
    featurize_unscaled(*m.config, text, scratch);
    predict_shared_pair(scratch, *m.category, m.category_scores, *m.complexity,
                        m.complexity_scores);
    benchmark::DoNotOptimize(m.category_scores.data());
    benchmark::DoNotOptimize(m.complexity_scores.data());
  }
}

void BM_Featurize(benchmark::State& state) {
  const auto model = load_linear_model(kModelDir + "category.model");
  const auto text = long_prompt();
  llm_router::classifier::FeatureScratch scratch;
  for (auto _ : state) {
    featurize(model->featurizer_config(), text, scratch);
    benchmark::DoNotOptimize(scratch.features.data());
  }
  state.counters["features"] = static_cast<double>(scratch.features.size());
}

void BM_LoadCategoryModel(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(load_linear_model(kModelDir + "category.model"));
}

BENCHMARK(BM_PredictCategory)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PredictComplexity)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PredictBothShared)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PredictBothPaired)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Featurize)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LoadCategoryModel)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
