#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "llm_router/analyzer/analysis.hpp"
#include "llm_router/analyzer/dense_semantic.hpp"
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

// The embeddings backend's reading of a request: the utterances' vectors and the vector of the
// request's semantic_text(). The proxy fetches both; the analyzer only compares them.
struct DenseQuery {
  const DenseSemanticIndex& index;
  std::span<const float> vector;
};

// Computes an Analysis per request. Immutable after construction: analyze() is const, takes no
// locks and does no I/O, so one instance serves every io thread.
class Analyzer {
 public:
  static constexpr std::size_t kMaxLabels = 64;  // category labels a model may have
  using Distribution = std::array<float, kMaxLabels>;

  struct Models {
    std::shared_ptr<const classifier::TextModel> category;    // may be null
    std::shared_ptr<const classifier::TextModel> complexity;  // may be null
    std::shared_ptr<const SentimentModel> sentiment;          // may be null
  };

  // Throws std::invalid_argument for an invalid keyword pattern or a complexity model without
  // the configured positive label.
  Analyzer(AnalyzerSettings settings, Models models, std::vector<KeywordSet> keyword_sets,
           std::vector<SemanticSet> semantic_sets);

  // `body` is the request's JSON text, read without building a DOM. With `dense`, semantic
  // scores come from it (Analysis::semantic_source "embeddings") unless its vector does not fit
  // the index; otherwise from the local hashed vectors.
  Analysis analyze(std::string_view body, const RequestMeta& meta,
                   const DenseQuery* dense = nullptr) const;
  // The same for a DOM (classify CLI, tests): it is serialized first.
  Analysis analyze(const nlohmann::json& body, const RequestMeta& meta,
                   const DenseQuery* dense = nullptr) const;
  // The content signals of a bare text (classify CLI, tests).
  Analysis analyze_text(std::string_view text) const;

  const AnalyzerSettings& settings() const { return settings_; }
  // The category model's labels (empty without one); "other" is always a possible category too.
  std::vector<std::string> category_labels() const {
    return models_.category ? models_.category->labels() : std::vector<std::string>{};
  }
  bool has_complexity_model() const { return models_.complexity != nullptr; }
  // False without a lexicon or with the detector off: sentiment is then always 0.
  bool scores_sentiment() const {
    return models_.sentiment != nullptr && settings_.detectors.sentiment;
  }
  // Every semantic set scored: the config's, then the routes'.
  const std::vector<SemanticSet>& semantic_sets() const { return semantic_sets_; }
  // The text semantic similarity is computed on (what an embeddings backend is asked about).
  std::string semantic_text(std::string_view body, const RequestMeta& meta) const;
  std::string semantic_text(const nlohmann::json& body, const RequestMeta& meta) const;

 private:
  // `context`: what a short last user turn continues (RequestFacts::context_text), for a
  // follow-up the category model is unsure of on its own (TextSelection::follow_up_context).
  // `hidden`: where `text` holds personal data or records' ids, which the task models then read
  // blanked out.
  // `semantic_sets`: RequestMeta::semantic_sets.
  void analyze_content(std::string_view text, const DenseQuery* dense, Analysis& out,
                       std::string_view context = {}, const std::vector<TextSpan>* hidden = nullptr,
                       const std::vector<bool>* semantic_sets = nullptr) const;
  // The category distribution after the rule-based corrections (code evidence, instruction
  // cues); returns the leading label.
  std::size_t adjust_category(std::string_view text, Distribution& probabilities,
                              std::size_t n) const;
  // Blends in the reading of `context` joined with `text`; returns the leader.
  std::size_t lean_on_context(std::string_view text, std::string_view context,
                              Distribution& probabilities, std::size_t n,
                              float context_weight) const;
  struct TrailingReading {
    std::size_t best = 0;              // the leading label after the reading
    std::optional<double> complexity;  // of the request alone, when it made the prompt code or math
  };
  // Reads the question typed after a long text's passages (trailing_request) alone: plainly
  // code or math, it moves the category there; not math, the passages' figures do not make the
  // text math. `best`: the text's leading label so far.
  TrailingReading read_trailing_request(std::string_view text, std::string_view request,
                                        Distribution& probabilities, std::size_t n,
                                        std::size_t best, bool english) const;
  // The complexity model's score of `text` alone.
  double complexity_of(std::string_view text) const;
  // Cuts the math share to what an unbacked reading keeps; returns the new leader.
  std::size_t discount_math(Distribution& probabilities, std::size_t n) const;
  void score_semantic(std::string_view text, const DenseQuery* dense, Analysis& out,
                      const std::vector<bool>* wanted) const;

  AnalyzerSettings settings_;
  Models models_;
  std::size_t complexity_positive_ = 0;
  std::size_t code_label_ = SIZE_MAX;       // index of the category label "code", if any
  std::size_t math_label_ = SIZE_MAX;       // and of "math"
  std::size_t chit_chat_label_ = SIZE_MAX;  // and of "chit_chat"
  // Set when the category and complexity models can share one featurization of the text
  // (both linear models whose featurizer settings differ at most in bigrams and n-gram weight).
  std::optional<classifier::FeaturizerConfig> shared_features_;
  const classifier::LinearModel* category_linear_ = nullptr;
  const classifier::LinearModel* complexity_linear_ = nullptr;
  KeywordMatcher keywords_;
  std::vector<SemanticSet> semantic_sets_;
  SemanticIndex semantic_;
};

}  // namespace llm_router::analyzer
