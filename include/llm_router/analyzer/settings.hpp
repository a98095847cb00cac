#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "llm_router/analyzer/keywords.hpp"
#include "llm_router/analyzer/request.hpp"
#include "llm_router/analyzer/semantic.hpp"
#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::analyzer {

struct DetectorToggles {
  bool pii = true;
  bool code = true;
  bool language = true;
  bool sentiment = true;
  bool instructions = true;  // the task named by the prompt's first words moves the category
  bool math = true;          // math notation and words move the category to "math"
};

// `semantic.embeddings`: semantic similarity read from an embeddings backend (a backend of
// the config) when it answers in time; the local hashed vectors otherwise.
struct EmbeddingsSettings {
  std::string model;  // the backend's name
  std::chrono::milliseconds timeout{150};
  std::size_t cache_size = 10'000;  // prompt vectors kept (LRU); 0: none
};

// The `analyzer:` section of the config. Paths are kept as written (relative to the config
// file's directory); make_analyzer resolves them.
struct AnalyzerSettings {
  std::string category_model;    // empty: no category model, category is always "other"
  std::string complexity_model;  // empty: complexity is 0.5
  std::string complexity_label;  // positive label; empty: the model's last label
  std::string sentiment_lexicon = "models/vader_lexicon.txt";
  std::string sentiment_model = "models/sentiment.json";  // empty: plain VADER
  double other_threshold = 0.35;  // top category probability below this -> "other"
  TextSelection text;
  DetectorToggles detectors;
  std::vector<KeywordSet> keyword_sets;
  std::vector<SemanticSet> semantic_sets;
  std::optional<EmbeddingsSettings> embeddings;
};

// Reads the analyzer section; problems (unknown keys, wrong types, bad regexes) become located
// diagnostics in reader.context() rather than exceptions.
AnalyzerSettings read_analyzer_settings(config::NodeReader reader);

}  // namespace llm_router::analyzer
