#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace llm_router::classifier {

// How text becomes hashed features. Stored in the model file, so a model always featurizes
// exactly as it was trained.
struct FeaturizerConfig {
  uint32_t bucket_bits = 18;        // features hash into 2^bucket_bits rows
  uint32_t char_ngram_min = 3;      // character n-grams inside "<word>", 0 disables them
  uint32_t char_ngram_max = 5;      // at most 7: an n-gram is hashed as one packed integer
  uint32_t max_chars = 4000;        // text beyond this is not read
  uint32_t char_ngram_chars = 500;  // character n-grams only from this many leading chars
  uint32_t use_bigrams = 1;
  uint32_t use_dense = 1;
  uint32_t char_ngram_weight_pct = 50;  // n-gram family weight relative to the word family  //
                                        // length / digit / LaTeX / code / answer-choice buckets

  bool operator==(const FeaturizerConfig&) const = default;
};

struct Feature {
  // Left uninitialised: scratch buffers are resized on every call and then overwritten.
  Feature() {}  // NOLINT(modernize-use-equals-default)
  Feature(uint32_t b, float v) : bucket(b), value(v) {}
  uint32_t bucket;
  float value;
};

// Where a word token lies in the featurized text: bytes [begin, end).
struct WordSpan {
  // Left uninitialised, as Feature.
  WordSpan() {}  // NOLINT(modernize-use-equals-default)
  WordSpan(uint32_t b, uint32_t e) : begin(b), end(e) {}
  uint32_t begin;
  uint32_t end;
};

// Reusable buffers: featurize() refills them, so a thread that keeps one allocates only while
// the buffers grow to the largest text seen. `features` holds the result; the others are
// working space whose sizes mean nothing.
struct FeatureScratch {
  std::vector<Feature> features;
  // How `features` is laid out: word tokens, then bigrams, then character n-grams, then dense
  // indicators. A model whose settings differ only in bigrams and n-gram weight can reuse
  // them (LinearModel::predict_shared).
  size_t word_tokens = 0;
  size_t bigrams = 0;
  size_t char_ngrams = 0;
  size_t dense = 0;
  // The words featurize() found, in order: every maximal run of word bytes (ASCII letters,
  // digits, '_' and any non-ASCII byte) in the text's first max_chars bytes. Other scanners
  // of the same text reuse them instead of finding the words again (KeywordMatcher).
  std::vector<WordSpan> word_spans;
  std::vector<Feature> char_features;
  std::vector<uint64_t> word_hashes;
};

// Lowercased word unigrams and bigrams, and character n-grams, each family scaled by
// 1/sqrt(its count) so long prompts do not saturate the softmax and the many n-grams do not
// drown the words; plus indicator features for dense properties.
void featurize(const FeaturizerConfig& config, std::string_view text, FeatureScratch& scratch);

// featurize() with every value left at 1: for LinearModel::predict_shared and
// predict_shared_pair, which apply each family's value themselves and never read the
// features' own, so the pass that writes the values is skipped.
void featurize_unscaled(const FeaturizerConfig& config, std::string_view text,
                        FeatureScratch& scratch);

// The family weight featurize() gives every feature of a family of `count` features.
float family_value(float weight, size_t count);

// Stable 64-bit hash (FNV-1a, then a murmur finalizer): the model file depends on it.
uint64_t hash_bytes(std::string_view bytes, uint64_t seed);
uint64_t mix_hash(uint64_t a, uint64_t b);

}  // namespace llm_router::classifier
