#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm_router/analyzer/dense_semantic.hpp"

namespace llm_router::analyzer {

// Prompt vectors from the embeddings backend, least recently used dropped first. Keyed by a
// 64-bit hash of the text plus its length (the text itself is not kept). Thread-safe: the keys
// are spread over shards, each with its own lock, so io threads rarely wait for each other.
// A capacity of 0 keeps nothing.
class EmbeddingCache {
 public:
  static constexpr std::size_t kDefaultShards = 16;

  explicit EmbeddingCache(std::size_t capacity, std::size_t shards = kDefaultShards);

  // The vector cached for text (it becomes the most recently used), or null.
  std::shared_ptr<const DenseVector> find(std::string_view text);
  void insert(std::string_view text, std::shared_ptr<const DenseVector> vector);
  std::size_t size() const;
  std::size_t capacity() const { return shard_capacity_ * shards_.size(); }

 private:
  struct Key {
    std::uint64_t hash = 0;
    std::size_t length = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const { return key.hash; }
  };
  struct Entry {
    Key key;
    std::shared_ptr<const DenseVector> vector;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> recency;  // most recently used first
    std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> by_key;
  };

  static Key key_of(std::string_view text);
  Shard& shard_of(const Key& key);

  std::size_t shard_capacity_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace llm_router::analyzer
