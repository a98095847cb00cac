#include "llm_router/selector/request_facts.hpp"

#include <algorithm>

namespace llm_router::selector {

const std::string* RequestFacts::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool RequestFacts::keyword_hit(std::string_view name) const {
  return std::find(keyword_hits.begin(), keyword_hits.end(), name) != keyword_hits.end();
}

double RequestFacts::semantic_score(std::string_view name) const {
  const auto it = semantic_scores.find(name);
  return it == semantic_scores.end() ? 0.0 : it->second;
}

}  // namespace llm_router::selector
