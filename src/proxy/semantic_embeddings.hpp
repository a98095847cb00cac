#pragma once

#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/embedding_cache.hpp"
#include "llm_router/health/circuit_breaker.hpp"
#include "llm_router/metrics/registry.hpp"
#include "llm_router/upstream/exchange.hpp"

namespace llm_router::proxy {

// How one request's embedding lookup ended (the `result` label of
// llm_router_semantic_embeddings_total). Only `fetched` and `cached` give embeddings scores;
// `circuit_open`: the backend's breaker had ejected it, so it was not asked.
enum class EmbeddingOutcome {
  fetched,
  cached,
  pending,
  failed,
  timeout,
  bad_response,
  circuit_open
};
inline constexpr std::size_t kEmbeddingOutcomes = 7;

// The embeddings backend's side of semantic routing for one snapshot, shared by every io
// thread: the utterances' vectors (fetched once, in one batch) and an LRU of prompt vectors.
// Whatever goes wrong, the request keeps the local hashed score.
class SemanticEmbeddings {
 public:
  // A failed utterance fetch is tried again by a request arriving this long after it.
  static constexpr std::chrono::seconds kRetryDelay{5};
  // The utterance batch may take longer than one prompt's lookup; requests do not wait for it
  // beyond their own timeout.
  static constexpr std::chrono::seconds kUtteranceTimeout{30};

  SemanticEmbeddings(analyzer::EmbeddingsSettings settings, std::size_t backend_index,
                     std::string upstream_model, std::vector<analyzer::SemanticSet> sets,
                     metrics::CounterFamily& outcomes);

  const analyzer::EmbeddingsSettings& settings() const { return settings_; }
  std::size_t backend_index() const { return backend_index_; }
  const std::string& upstream_model() const { return upstream_model_; }
  const std::vector<analyzer::SemanticSet>& sets() const { return sets_; }
  analyzer::EmbeddingCache& cache() { return cache_; }

  // The utterances' vectors, or null until a fetch succeeded.
  const analyzer::DenseSemanticIndex* index() const {
    return index_.load(std::memory_order_acquire);
  }
  // True when the caller is to fetch the utterances now: none yet, no fetch running, and the
  // last failure (if any) is kRetryDelay old.
  bool claim_utterance_fetch(upstream::Clock::time_point now);
  // Ends the claimed fetch: keeps the index, or notes the failure time.
  void utterances_fetched(std::optional<analyzer::DenseSemanticIndex> index,
                          upstream::Clock::time_point now);
  void count(EmbeddingOutcome outcome) { outcomes_[static_cast<std::size_t>(outcome)]->inc(); }

 private:
  analyzer::EmbeddingsSettings settings_;
  std::size_t backend_index_;
  std::string upstream_model_;
  std::vector<analyzer::SemanticSet> sets_;
  analyzer::EmbeddingCache cache_;
  std::array<metrics::Counter*, kEmbeddingOutcomes> outcomes_{};
  std::unique_ptr<const analyzer::DenseSemanticIndex> owned_index_;  // written once
  std::atomic<const analyzer::DenseSemanticIndex*> index_{nullptr};
  std::atomic<bool> fetching_{false};
  std::atomic<upstream::Clock::rep> retry_at_{0};
};

// A request's vector from the embeddings backend and the index to compare it with.
struct DenseReading {
  std::shared_ptr<SemanticEmbeddings> embeddings;  // owns the index
  std::shared_ptr<const analyzer::DenseVector> vector;

  analyzer::DenseQuery query() const { return {*embeddings->index(), *vector}; }
};

// The embeddings backend's vector of `text` (the analyzer's semantic_text), from the cache or
// fetched through `provider` within the configured timeout. The first call also starts the
// utterance fetch (in the background; it waits for it up to the same timeout). A prompt is
// not sent while the backend's `breaker` is open, and each answer feeds it. nullopt when the
// local score must do; the outcome is counted and, when it is a failure, logged at debug level
// (never the text).
boost::asio::awaitable<std::optional<DenseReading>> read_embedding(
    std::shared_ptr<SemanticEmbeddings> embeddings, std::shared_ptr<upstream::Provider> provider,
    health::CircuitBreaker& breaker, std::string text);

}  // namespace llm_router::proxy
