#include "llm_router/classifier/featurizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace llm_router::classifier {
namespace {

FeaturizerConfig words_only() {
  FeaturizerConfig c;
  c.bucket_bits = 12;
  c.use_dense = 0;
  return c;
}

std::vector<uint32_t> buckets(const FeaturizerConfig& config, std::string_view text) {
  FeatureScratch scratch;
  featurize(config, text, scratch);
  std::vector<uint32_t> out;
  for (const auto& f : scratch.features) out.push_back(f.bucket);
  std::sort(out.begin(), out.end());
  return out;
}

size_t feature_count(const FeaturizerConfig& config, std::string_view text) {
  return buckets(config, text).size();
}

TEST(Featurizer, CountsPerFamily) {
  struct Case {
    const char* text;
    uint32_t minn;
    bool bigrams;
    size_t expected;
  };
  // "<abc>": 3 trigrams + 2 four-grams + 1 five-gram; numbers and punctuation get no n-grams.
  const Case cases[] = {
      {"", 3, true, 0},         {"abc", 0, true, 1},
      {"abc", 3, true, 1 + 6},  {"abc def", 0, true, 2 + 1},
      {"abc def", 0, false, 2}, {"abc 42", 3, true, 2 + 1 + 6},
      {"abc?", 0, true, 2 + 1}, {"a", 3, true, 1 + 1},  // "<a>" is one trigram
  };
  for (const auto& c : cases) {
    auto config = words_only();
    config.char_ngram_min = c.minn;
    config.char_ngram_max = c.minn == 0 ? 0 : 5;
    config.use_bigrams = c.bigrams ? 1 : 0;
    EXPECT_EQ(feature_count(config, c.text), c.expected) << c.text;
  }
}

TEST(Featurizer, EquivalentTexts) {
  struct Case {
    const char* a;
    const char* b;
    bool same;
  };
  const Case cases[] = {
      {"Hello World", "hello world", true},        // lowercased
      {"I have 16 eggs", "I have 17 eggs", true},  // numbers by shape
      {"I have 16 eggs", "I have 1600 eggs", false},
      {"hello   world\t", "hello world", true},  // whitespace runs
      {"hello world", "world hello", false},     // bigrams keep order
      {"caf\xc3\xa9 ok", "caf\xc3\xa9 ok", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(buckets(words_only(), c.a) == buckets(words_only(), c.b), c.same)
        << c.a << " | " << c.b;
  }
}

TEST(Featurizer, BucketsInRangeAndValuesFinite) {
  FeaturizerConfig config;
  config.bucket_bits = 10;
  FeatureScratch scratch;
  featurize(config, "Find x if $x^2 = 4$.\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:", scratch);
  ASSERT_FALSE(scratch.features.empty());
  for (const auto& f : scratch.features) {
    EXPECT_LT(f.bucket, 1U << 10);
    EXPECT_TRUE(std::isfinite(f.value));
    EXPECT_GT(f.value, 0.0F);
  }
}

TEST(Featurizer, DenseFeaturesSeeStructure) {
  FeaturizerConfig config;
  config.bucket_bits = 16;
  config.char_ngram_min = config.char_ngram_max = 0;
  config.use_bigrams = 0;
  // Same words, different layout: only the dense features can tell them apart.
  const auto choices = buckets(config, "Pick one\nA. red\nB. blue");
  const auto inline_text = buckets(config, "Pick one A. red B. blue");
  EXPECT_NE(choices, inline_text);
  EXPECT_EQ(buckets(config, "").size(), 44U);  // 22 properties, each plain and shape-crossed
}

TEST(Featurizer, ReadsAtMostMaxChars) {
  auto config = words_only();
  config.max_chars = 100;
  std::string long_text;
  while (long_text.size() < 10000) long_text += "word" + std::to_string(long_text.size()) + " ";
  EXPECT_EQ(buckets(config, long_text),
            buckets(config, std::string_view(long_text).substr(0, 100)));
}

TEST(Featurizer, CharNgramsOnlyInTheLeadingWindow) {
  auto config = words_only();
  config.char_ngram_chars = 4;
  // "abc" starts at 0 and gets n-grams, "xyz" starts at 4 and does not.
  EXPECT_EQ(feature_count(config, "abc xyz"), 2U + 1U + 6U);
}

// word_spans: every maximal run of word bytes, in order, within the first max_chars bytes.
TEST(Featurizer, WordSpansAreTheWords) {
  FeaturizerConfig config = words_only();
  config.max_chars = 42;  // cuts "text" to "te"
  const std::string text = "Hi, longer_words9 caf\xc3\xa9?\n\t42 x  tail-of-text cut here";
  FeatureScratch scratch;
  featurize(config, text, scratch);
  std::vector<std::string> words;
  for (const WordSpan& span : scratch.word_spans) {
    words.push_back(text.substr(span.begin, span.end - span.begin));
  }
  EXPECT_EQ(words, (std::vector<std::string>{"Hi", "longer_words9", "caf\xc3\xa9", "42", "x",
                                             "tail", "of", "te"}));
}

TEST(Featurizer, ScratchIsReused) {
  FeatureScratch scratch;
  featurize(words_only(), "a long first text with many words in it", scratch);
  featurize(words_only(), "short", scratch);
  FeatureScratch fresh;
  featurize(words_only(), "short", fresh);
  ASSERT_EQ(scratch.features.size(), fresh.features.size());
  for (size_t i = 0; i < fresh.features.size(); ++i) {
    EXPECT_EQ(scratch.features[i].bucket, fresh.features[i].bucket);
    EXPECT_EQ(scratch.features[i].value, fresh.features[i].value);
  }
}

// featurize() writes through raw pointers into buffers sized by an upper bound; this sweeps
// configs and adversarial texts (one-letter words, long words, punctuation runs) so a wrong
// bound shows up under LLM_ROUTER_SANITIZE=ON (ASan) as a container overflow.
TEST(Featurizer, RandomTextsAndConfigsStayInBounds) {
  std::mt19937 rng(3);
  const char* const pieces[] = {
      "a",        " ",  "\n", ".", "1",
      "\xc3\xa9", "A.", "$",  "{", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"};
  FeatureScratch scratch;
  for (int iteration = 0; iteration < 500; ++iteration) {
    FeaturizerConfig c;
    c.bucket_bits = 8 + rng() % 10;
    c.char_ngram_min = rng() % 4;
    c.char_ngram_max =
        c.char_ngram_min == 0 ? 0 : c.char_ngram_min + rng() % (8 - c.char_ngram_min);
    c.max_chars = 1 + rng() % 3000;
    c.char_ngram_chars = rng() % 2000;
    c.use_bigrams = rng() % 2;
    c.use_dense = rng() % 2;
    const size_t length = rng() % 4000;
    const unsigned mode = rng() % 4;
    std::string text;
    while (text.size() < length) text += mode == 0 ? "a " : pieces[rng() % (mode == 1 ? 3 : 10)];
    featurize(c, text, scratch);
    for (const auto& f : scratch.features) ASSERT_LT(f.bucket, 1U << c.bucket_bits);
  }
}

TEST(Featurizer, HashIsStable) {
  // The model files depend on these values; a change here invalidates every shipped model.
  EXPECT_EQ(hash_bytes("", 0), hash_bytes("", 0));
  EXPECT_NE(hash_bytes("a", 0), hash_bytes("a", 1));
  EXPECT_EQ(hash_bytes("abc", 7), 0xa9ed3bb3862e58feULL);
}

}  // namespace
}  // namespace llm_router::classifier
