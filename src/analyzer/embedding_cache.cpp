#include "llm_router/analyzer/embedding_cache.hpp"

#include <algorithm>
#include <functional>

namespace llm_router::analyzer {

EmbeddingCache::EmbeddingCache(std::size_t capacity, std::size_t shards) {
  // Fewer shards than entries would leave shards that can hold nothing.
  const std::size_t count = std::clamp<std::size_t>(std::min(shards, capacity), 1, 1024);
  shard_capacity_ = capacity / count;
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>());
}

EmbeddingCache::Key EmbeddingCache::key_of(std::string_view text) {
  return Key{static_cast<std::uint64_t>(std::hash<std::string_view>{}(text)), text.size()};
}

EmbeddingCache::Shard& EmbeddingCache::shard_of(const Key& key) {
  // The high bits choose the shard; the map inside uses the whole hash.
  return *shards_[(key.hash >> 48) % shards_.size()];
}

std::shared_ptr<const DenseVector> EmbeddingCache::find(std::string_view text) {
  if (shard_capacity_ == 0) return nullptr;
  const Key key = key_of(text);
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.by_key.find(key);
  if (it == shard.by_key.end()) return nullptr;
  shard.recency.splice(shard.recency.begin(), shard.recency, it->second);
  return it->second->vector;
}

void EmbeddingCache::insert(std::string_view text, std::shared_ptr<const DenseVector> vector) {
  if (shard_capacity_ == 0 || !vector) return;
  const Key key = key_of(text);
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  if (const auto it = shard.by_key.find(key); it != shard.by_key.end()) {
    it->second->vector = std::move(vector);
    shard.recency.splice(shard.recency.begin(), shard.recency, it->second);
    return;
  }
  shard.recency.push_front(Entry{key, std::move(vector)});
  shard.by_key.emplace(key, shard.recency.begin());
  if (shard.recency.size() > shard_capacity_) {
    shard.by_key.erase(shard.recency.back().key);
    shard.recency.pop_back();
  }
}

std::size_t EmbeddingCache::size() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->recency.size();
  }
  return total;
}

}  // namespace llm_router::analyzer
