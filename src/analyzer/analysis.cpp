#include "llm_router/analyzer/analysis.hpp"

#include <cmath>

namespace llm_router::analyzer {
namespace {

// Six decimals, as `calibrate` prints a threshold: a score shown to three beside a threshold
// of six (0.126 against 0.1258) reads as a rule that should have matched and did not.
double rounded(double value) {
  return std::isfinite(value) ? std::round(value * 1e6) / 1e6 : 0;
}

}  // namespace

bool Analysis::has_pii(std::string_view kind) const {
  for (const auto& found : pii) {
    if (found.kind == kind && found.count > 0) return true;
  }
  return false;
}

nlohmann::json Analysis::to_json() const {
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [label, p] : category_scores) scores[label] = rounded(p);
  nlohmann::json pii_json = nlohmann::json::object();
  for (const auto& found : pii) pii_json[found.kind] = found.count;
  nlohmann::json semantic = nlohmann::json::object();
  for (const auto& [name, s] : semantic_scores) semantic[name] = rounded(s);
  return {
      {"category", category},
      {"category_scores", scores},
      {"category_from_context", category_from_context},
      {"complexity", rounded(complexity)},
      {"sentiment", rounded(sentiment)},
      {"sentiment_vader", rounded(sentiment_vader)},
      {"pii", pii_json},
      {"has_code", has_code},
      {"code_languages", code_languages},
      {"script", script},
      {"language", language},
      {"estimated_tokens", static_cast<std::int64_t>(std::llround(estimated_tokens))},
      {"turns", turns},
      {"analyzed_chars", analyzed_chars},
      {"truncated", truncated},
      {"has_images", has_images},
      {"has_audio", has_audio},
      {"has_tools", has_tools},
      {"json_mode", json_mode},
      {"stream", stream},
      {"keyword_hits", keyword_hits},
      {"keyword_words", keyword_words},
      {"semantic_scores", semantic},
      {"semantic_hits", semantic_hits},
      {"semantic_source", semantic_source},
      {"user", user},
      {"metadata", metadata.is_null() ? nlohmann::json::object() : metadata},
      {"elapsed_ns", elapsed_ns},
  };
}

}  // namespace llm_router::analyzer
