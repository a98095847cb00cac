#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "llm_router/analyzer/embedding_cache.hpp"

namespace llm_router::analyzer {
namespace {

std::shared_ptr<const DenseVector> vector_of(float x) {
  return std::make_shared<const DenseVector>(DenseVector{x});
}

TEST(EmbeddingCache, FindsWhatWasInserted) {
  EmbeddingCache cache(10);
  EXPECT_EQ(cache.find("hello"), nullptr);
  cache.insert("hello", vector_of(1));
  ASSERT_NE(cache.find("hello"), nullptr);
  EXPECT_EQ(*cache.find("hello"), DenseVector{1});
  EXPECT_EQ(cache.find("hello "), nullptr);
  cache.insert("hello", vector_of(2));  // replaced, not added
  EXPECT_EQ(*cache.find("hello"), DenseVector{2});
  EXPECT_EQ(cache.size(), 1u);
}

TEST(EmbeddingCache, DropsTheLeastRecentlyUsed) {
  EmbeddingCache cache(2, /*shards=*/1);
  cache.insert("a", vector_of(1));
  cache.insert("b", vector_of(2));
  ASSERT_NE(cache.find("a"), nullptr);  // "a" is now the most recent
  cache.insert("c", vector_of(3));
  EXPECT_NE(cache.find("a"), nullptr);
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_NE(cache.find("c"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(EmbeddingCache, NeverHoldsMoreThanItsCapacity) {
  EmbeddingCache cache(100);
  EXPECT_LE(cache.capacity(), 100u);
  for (int i = 0; i < 1000; ++i) cache.insert("text " + std::to_string(i), vector_of(float(i)));
  EXPECT_LE(cache.size(), 100u);
  EXPECT_GT(cache.size(), 0u);
  EXPECT_NE(cache.find("text 999"), nullptr);  // the last insert is always kept
}

TEST(EmbeddingCache, CapacityZeroKeepsNothing) {
  EmbeddingCache cache(0);
  cache.insert("a", vector_of(1));
  EXPECT_EQ(cache.find("a"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(EmbeddingCache, IsSafeAcrossThreads) {
  EmbeddingCache cache(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "k" + std::to_string((i * 7 + t) % 200);
        if (auto hit = cache.find(key)) {
          EXPECT_EQ(hit->size(), 1u);
        } else {
          cache.insert(key, vector_of(float(i)));
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(cache.size(), 64u);
}

}  // namespace
}  // namespace llm_router::analyzer
