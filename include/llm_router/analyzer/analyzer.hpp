#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "llm_router/analyzer/analysis.hpp"
#include "llm_router/analyzer/factory.hpp"
#include "llm_router/analyzer/keywords.hpp"
#include "llm_router/analyzer/request.hpp"
#include "llm_router/analyzer/semantic.hpp"
#include "llm_router/analyzer/sentiment.hpp"
#include "llm_router/analyzer/settings.hpp"
#include "llm_router/classifier/featurizer.hpp"
#include "llm_router/classifier/text_model.hpp"

namespace llm_router::classifier {
class LinearModel;
}

namespace llm_router::analyzer {

// Computes an Analysis per request. Immutable after construction: analyze() is const, takes no
// locks and does no I/O, so one instance serves every io thread.
class Analyzer {
 public:
  struct Models {
    std::shared_ptr<const classifier::TextModel> category;    // may be null
    std::shared_ptr<const classifier::TextModel> complexity;  // may be null
    std::shared_ptr<const SentimentModel> sentiment;          // may be null
  };

  // Throws std::invalid_argument for an invalid keyword pattern or a complexity model without
  // the configured positive label.
  Analyzer(AnalyzerSettings settings, Models models, std::vector<KeywordSet> keyword_sets,
           std::vector<SemanticSet> semantic_sets);

  Analysis analyze(const nlohmann::json& body, const RequestMeta& meta) const;
  // The content signals of a bare text (classify CLI, tests).
  Analysis analyze_text(std::string_view text) const;

  const AnalyzerSettings& settings() const { return settings_; }

 private:
  void analyze_content(std::string_view text, Analysis& out) const;

  AnalyzerSettings settings_;
  Models models_;
  std::size_t complexity_positive_ = 0;
  std::size_t code_label_ = SIZE_MAX;  // index of the category label "code", if any
  // Set when the category and complexity models can share one featurization of the text
  // (both linear models whose featurizer settings differ at most in bigrams and n-gram weight).
  std::optional<classifier::FeaturizerConfig> shared_features_;
  const classifier::LinearModel* category_linear_ = nullptr;
  const classifier::LinearModel* complexity_linear_ = nullptr;
  KeywordMatcher keywords_;
  SemanticIndex semantic_;
};

}  // namespace llm_router::analyzer
