#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llm_router::analyzer {

// A named group of example utterances; a prompt close to any of them scores high.
struct SemanticSet {
  std::string name;
  std::vector<std::string> utterances;
  std::optional<double> threshold;  // reported in Analysis when set (scores are always kept)
};

// A sparse L2-normalised vector: (dimension, weight) sorted by dimension.
using SparseVector = std::vector<std::pair<std::uint32_t, float>>;

// The seam for other embedding back-ends (e.g. an embeddings API, later): maps a text to a
// unit vector. Implementations are immutable and thread-safe.
class TextEmbedder {
 public:
  virtual ~TextEmbedder() = default;
  virtual SparseVector embed(std::string_view text) const = 0;
};

// Hashed word unigrams + bigrams + character trigrams, sublinear TF times an IDF learnt from
// the configured utterances, L2-normalised. Microseconds per text, no model file.
class HashedNgramEmbedder : public TextEmbedder {
 public:
  static constexpr int kBits = 12;
  static constexpr std::uint32_t kDims = 1u << kBits;

  explicit HashedNgramEmbedder(const std::vector<std::string>& idf_corpus);
  SparseVector embed(std::string_view text) const override;

  // The fast path of SemanticIndex: accumulates term frequencies of text into `tf` (kDims
  // zeros on entry) and returns 1 / |sqrt(tf) * idf|; the unit vector's value at dimension d is
  // sqrt(tf[d]) * idf(d) * that. Skips building and sorting a SparseVector.
  float term_frequencies(std::string_view text, std::span<float> tf) const;
  float idf(std::uint32_t dim) const { return idf_[dim]; }

 private:
  std::vector<float> idf_;          // kDims entries
  std::vector<float> idf_squared_;  // kDims entries
};

double cosine(const SparseVector& a, const SparseVector& b);

struct SemanticScore {
  std::string_view name;
  double score = 0;  // 0..1, the best cosine over the set's utterances
  std::optional<double> threshold;
};

// Whether set `s` is scored under a selection of sets (RequestMeta::semantic_sets; null: all).
inline bool is_wanted(const std::vector<bool>* wanted, std::size_t s) {
  return wanted == nullptr || (s < wanted->size() && (*wanted)[s]);
}

// The configured sets embedded once; scoring a prompt costs one embedding plus sparse dots.
class SemanticIndex {
 public:
  SemanticIndex(std::vector<SemanticSet> sets, std::shared_ptr<const TextEmbedder> embedder);
  // Uses a HashedNgramEmbedder with IDF over all utterances.
  explicit SemanticIndex(std::vector<SemanticSet> sets);

  // Scores of the sets `wanted` (by index; null: every set), in the sets' order.
  std::vector<SemanticScore> score(std::string_view text,
                                   const std::vector<bool>* wanted = nullptr) const;
  bool empty() const { return sets_.empty(); }

 private:
  struct Embedded {
    std::string name;
    std::optional<double> threshold;
    std::vector<SparseVector> utterances;
  };
  std::shared_ptr<const TextEmbedder> embedder_;
  const HashedNgramEmbedder* local_ = nullptr;  // set when embedder_ is the local one
  std::vector<Embedded> sets_;
};

}  // namespace llm_router::analyzer
