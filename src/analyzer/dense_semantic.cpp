#include "llm_router/analyzer/dense_semantic.hpp"

#include <algorithm>
#include <cmath>

namespace llm_router::analyzer {
namespace {

// The Euclidean norm, or nullopt when it is zero or a component is not finite.
std::optional<double> usable_norm(std::span<const float> v) {
  double sum = 0;
  for (const float x : v) {
    if (!std::isfinite(x)) return std::nullopt;
    sum += static_cast<double>(x) * x;
  }
  if (!(sum > 0) || !std::isfinite(sum)) return std::nullopt;
  return std::sqrt(sum);
}

double dot(std::span<const float> a, std::span<const float> b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

std::optional<DenseVector> normalised(std::span<const float> v) {
  const auto norm = usable_norm(v);
  if (!norm) return std::nullopt;
  DenseVector out(v.begin(), v.end());
  for (float& x : out) x = static_cast<float>(x / *norm);
  return out;
}

}  // namespace

std::optional<double> dense_similarity(std::span<const float> a, std::span<const float> b) {
  if (a.empty() || a.size() != b.size()) return std::nullopt;
  const auto norm_a = usable_norm(a);
  const auto norm_b = usable_norm(b);
  if (!norm_a || !norm_b) return std::nullopt;
  return std::clamp(dot(a, b) / (*norm_a * *norm_b), 0.0, 1.0);
}

std::vector<std::string> utterances_of(const std::vector<SemanticSet>& sets) {
  std::vector<std::string> out;
  for (const auto& set : sets) out.insert(out.end(), set.utterances.begin(), set.utterances.end());
  return out;
}

std::optional<DenseSemanticIndex> DenseSemanticIndex::build(
    const std::vector<SemanticSet>& sets, const std::vector<DenseVector>& vectors) {
  std::size_t expected = 0;
  for (const auto& set : sets) expected += set.utterances.size();
  if (vectors.size() != expected || vectors.empty()) return std::nullopt;
  DenseSemanticIndex index;
  index.dimensions_ = vectors.front().size();
  auto next = vectors.begin();
  for (const auto& set : sets) {
    Set dense{set.name, set.threshold, {}};
    for (std::size_t i = 0; i < set.utterances.size(); ++i, ++next) {
      if (next->size() != index.dimensions_) return std::nullopt;
      auto unit = normalised(*next);
      if (!unit) return std::nullopt;
      dense.utterances.push_back(std::move(*unit));
    }
    index.sets_.push_back(std::move(dense));
  }
  return index;
}

std::optional<std::vector<SemanticScore>> DenseSemanticIndex::score(
    std::span<const float> query) const {
  if (query.size() != dimensions_) return std::nullopt;
  const auto norm = usable_norm(query);
  if (!norm) return std::nullopt;
  std::vector<SemanticScore> out;
  out.reserve(sets_.size());
  for (const auto& set : sets_) {
    double best = 0;
    for (const auto& utterance : set.utterances) {
      best = std::max(best, std::clamp(dot(query, utterance) / *norm, 0.0, 1.0));
    }
    out.push_back({set.name, best, set.threshold});
  }
  return out;
}

}  // namespace llm_router::analyzer
