#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llm_router/analyzer/semantic.hpp"

namespace llm_router::analyzer {

// A vector from an embeddings backend (any dimension, not necessarily normalised).
using DenseVector = std::vector<float>;

// The cosine of two dense vectors, clamped into 0..1 like the local score (opposite or
// orthogonal texts are both 0). nullopt when the vectors cannot be compared: different or
// zero dimensions, a zero vector, a NaN or infinite component.
std::optional<double> dense_similarity(std::span<const float> a, std::span<const float> b);

// Every utterance of the sets, in order: what is sent to the embeddings backend, in one batch.
std::vector<std::string> utterances_of(const std::vector<SemanticSet>& sets);

// The sets' utterances as vectors from an embeddings backend, fetched once. Immutable.
class DenseSemanticIndex {
 public:
  // `vectors` holds one vector per utterance in utterances_of(sets) order. nullopt when the
  // count is wrong, the vectors differ in dimension, or one cannot be normalised.
  static std::optional<DenseSemanticIndex> build(const std::vector<SemanticSet>& sets,
                                                 const std::vector<DenseVector>& vectors);

  std::size_t dimensions() const { return dimensions_; }
  // The best similarity per set, as SemanticIndex::score; nullopt when `query` does not fit
  // (another dimension, a zero or non-finite vector). Names point into this index.
  std::optional<std::vector<SemanticScore>> score(std::span<const float> query) const;

 private:
  struct Set {
    std::string name;
    std::optional<double> threshold;
    std::vector<DenseVector> utterances;  // unit vectors
  };
  std::size_t dimensions_ = 0;
  std::vector<Set> sets_;
};

}  // namespace llm_router::analyzer
