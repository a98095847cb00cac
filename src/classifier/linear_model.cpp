#include "llm_router/classifier/linear_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

namespace llm_router::classifier {
namespace {

// Features ahead of the one being added whose weight rows are requested early: the rows are
// scattered over megabytes, so overlapping the misses is most of predict's speed.
constexpr size_t kPrefetchDistance = 16;
constexpr size_t kMaxUnrolledLabels = 16;
// predict_pair fuses the passes of two models when the second has at most this many labels.
constexpr size_t kMaxPairedLabels = 2;

// Requests the row of `bucket` early: both of its cache lines when a row of K floats can
// straddle two (rows whose size divides 64 bytes never do).
template <size_t K>
void prefetch_row(const float* weights, uint32_t bucket) {
  constexpr size_t kStride = row_stride(K);
  const float* row = weights + size_t{bucket} * kStride;
  __builtin_prefetch(row);
  if constexpr (64 % (kStride * sizeof(float)) != 0) __builtin_prefetch(row + K - 1);
}

// Four floats in one SSE (or NEON) register, with GCC/Clang vector extensions.
using Lanes = float __attribute__((vector_size(4 * sizeof(float))));

// The per-label sums of K labels: label j gets row[j] * value added for each feature, four
// labels per vector instruction. Each lane is the same IEEE multiply and add as the scalar
// `acc[j] += row[j] * value`, so the sums are bit-identical to a scalar loop; the compiler
// vectorized only part of that loop (11 labels: 9 scalar multiply-adds per feature).
// Rows padded to whole vectors (row_stride) need no scalar tail: the padding lanes add zeros
// that add_to leaves out.
template <size_t K>
struct RowSums {
  static constexpr size_t kStride = row_stride(K);
  static constexpr size_t kVectors = kStride / 4;
  static constexpr size_t kTail = kStride % 4;
  Lanes vectors[kVectors == 0 ? 1 : kVectors] = {};
  float tail[kTail == 0 ? 1 : kTail] = {};

  void add(const float* row, float value) {
    for (size_t q = 0; q < kVectors; ++q) {
      Lanes r;
      std::memcpy(&r, row + 4 * q, sizeof r);
      vectors[q] += r * value;
    }
    for (size_t t = 0; t < kTail; ++t) tail[t] += row[4 * kVectors + t] * value;
  }
  void add_to(float* out) const {
    for (size_t q = 0; q < kVectors; ++q) {
      for (size_t l = 0; l < 4 && 4 * q + l < K; ++l) out[4 * q + l] += vectors[q][l];
    }
    for (size_t t = 0; t < kTail; ++t) out[4 * kVectors + t] += tail[t];
  }
};

// The label count as a compile-time constant lets the accumulator live in registers; with a
// runtime count every feature would store and reload it (a store-forwarding chain that costs
// more than the weight loads).
template <size_t K>
void accumulate_fixed(const float* weights, std::span<const Feature> features, float* out) {
  RowSums<K> acc;
  const size_t n = features.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchDistance < n) {
      prefetch_row<K>(weights, features[i + kPrefetchDistance].bucket);
    }
    acc.add(weights + size_t{features[i].bucket} * row_stride(K), features[i].value);
  }
  acc.add_to(out);
}

// A run of features that share one value (a family of predict_shared).
struct Segment {
  const Feature* begin;
  size_t size;
  float value;
};

// accumulate_fixed over several segments with per-segment values: the same additions in the
// same order, so the same floats.
template <size_t K>
void accumulate_segments(const float* weights, std::span<const Segment> segments, float* out) {
  RowSums<K> acc;
  for (const Segment& segment : segments) {
    const Feature* features = segment.begin;
    const size_t n = segment.size;
    const float value = segment.value;
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchDistance < n) {
        prefetch_row<K>(weights, features[i + kPrefetchDistance].bucket);
      }
      acc.add(weights + size_t{features[i].bucket} * row_stride(K), value);
    }
  }
  acc.add_to(out);
}

// accumulate_segments for two models over the same features in one pass: each model's
// additions keep their own order, so each gets the floats of its own accumulate_segments. The
// second model's few accumulators add no latency to the first one's dependency chain. Segment
// s of both lists starts at the same feature; one of the two may be empty (bigrams).
template <size_t KA, size_t KB>
void accumulate_pair(const float* weights_a, std::span<const Segment> segments_a, float* out_a,
                     const float* weights_b, std::span<const Segment> segments_b, float* out_b) {
  RowSums<KA> acc_a;
  RowSums<KB> acc_b;
  auto add_a = [&](const Feature& feature, float value) {
    acc_a.add(weights_a + size_t{feature.bucket} * row_stride(KA), value);
  };
  auto add_b = [&](const Feature& feature, float value) {
    acc_b.add(weights_b + size_t{feature.bucket} * row_stride(KB), value);
  };
  for (size_t s = 0; s < segments_a.size(); ++s) {
    const Segment& a = segments_a[s];
    const Segment& b = segments_b[s];
    const size_t both = std::min(a.size, b.size);
    for (size_t i = 0; i < both; ++i) {
      if (i + kPrefetchDistance < both) {
        prefetch_row<KA>(weights_a, a.begin[i + kPrefetchDistance].bucket);
        prefetch_row<KB>(weights_b, b.begin[i + kPrefetchDistance].bucket);
      }
      add_a(a.begin[i], a.value);
      add_b(b.begin[i], b.value);
    }
    for (size_t i = both; i < a.size; ++i) {
      if (i + kPrefetchDistance < a.size) {
        prefetch_row<KA>(weights_a, a.begin[i + kPrefetchDistance].bucket);
      }
      add_a(a.begin[i], a.value);
    }
    for (size_t i = both; i < b.size; ++i) {
      if (i + kPrefetchDistance < b.size) {
        prefetch_row<KB>(weights_b, b.begin[i + kPrefetchDistance].bucket);
      }
      add_b(b.begin[i], b.value);
    }
  }
  acc_a.add_to(out_a);
  acc_b.add_to(out_b);
}

void accumulate_segments_any(const float* weights, size_t stride, size_t k,
                             std::span<const Segment> segments, float* out) {
  for (const Segment& segment : segments) {
    for (size_t i = 0; i < segment.size; ++i) {
      const float* row = weights + size_t{segment.begin[i].bucket} * stride;
      for (size_t j = 0; j < k; ++j) out[j] += row[j] * segment.value;
    }
  }
}

void accumulate_any(const float* weights, size_t k, std::span<const Feature> features, float* out) {
  for (const auto& feature : features) {
    const float* row = weights + size_t{feature.bucket} * k;
    for (size_t j = 0; j < k; ++j) out[j] += row[j] * feature.value;
  }
}

using Accumulator = void (*)(const float*, std::span<const Feature>, float*);
using SegmentAccumulator = void (*)(const float*, std::span<const Segment>, float*);

template <size_t... K>
constexpr std::array<Accumulator, sizeof...(K)> make_accumulators(std::index_sequence<K...>) {
  return {&accumulate_fixed<K + 1>...};
}
constexpr auto kAccumulators = make_accumulators(std::make_index_sequence<kMaxUnrolledLabels>{});

template <size_t... K>
constexpr std::array<SegmentAccumulator, sizeof...(K)> make_segment_accumulators(
    std::index_sequence<K...>) {
  return {&accumulate_segments<K + 1>...};
}
constexpr auto kSegmentAccumulators =
    make_segment_accumulators(std::make_index_sequence<kMaxUnrolledLabels>{});

using PairAccumulator = void (*)(const float*, std::span<const Segment>, float*, const float*,
                                 std::span<const Segment>, float*);

// [KB - 1][KA - 1] -> accumulate_pair<KA, KB>.
template <size_t KB, size_t... KA>
constexpr std::array<PairAccumulator, sizeof...(KA)> make_pair_row(std::index_sequence<KA...>) {
  return {&accumulate_pair<KA + 1, KB>...};
}
template <size_t... KB>
constexpr std::array<std::array<PairAccumulator, kMaxUnrolledLabels>, sizeof...(KB)>
make_pair_accumulators(std::index_sequence<KB...>) {
  return {make_pair_row<KB + 1>(std::make_index_sequence<kMaxUnrolledLabels>{})...};
}
constexpr auto kPairAccumulators =
    make_pair_accumulators(std::make_index_sequence<kMaxPairedLabels>{});

// The families of predict_shared for a model with `config` over the shared layout, always
// four (word tokens, bigrams, n-grams, dense); a family the model lacks is empty.
std::array<Segment, 4> shared_segments(const FeatureScratch& scratch,
                                       const FeaturizerConfig& config) {
  const Feature* base = scratch.features.data();
  const size_t words = scratch.word_tokens;
  const size_t bigrams = config.use_bigrams ? scratch.bigrams : 0;
  const size_t ngrams_begin = scratch.word_tokens + scratch.bigrams;
  std::array<Segment, 4> segments{};
  const float word_value = words + bigrams > 0 ? family_value(1.0F, words + bigrams) : 0.0F;
  segments[0] = {base, words, word_value};
  segments[1] = {base + words, bigrams, word_value};
  const float weight = static_cast<float>(config.char_ngram_weight_pct) / 100.0F;
  segments[2] = {base + ngrams_begin, scratch.char_ngrams,
                 scratch.char_ngrams > 0 ? family_value(weight, scratch.char_ngrams) : 0.0F};
  segments[3] = {base + ngrams_begin + scratch.char_ngrams, scratch.dense, 1.0F};
  return segments;
}

void accumulate_logits(const float* weights, const std::vector<float>& bias,
                       std::span<const Feature> features, std::span<float> out) {
  std::copy(bias.begin(), bias.end(), out.begin());
  const size_t k = bias.size();
  if (k <= kMaxUnrolledLabels) {
    kAccumulators[k - 1](weights, features, out.data());
  } else {
    accumulate_any(weights, k, features, out.data());
  }
}

}  // namespace

LinearModel::LinearModel(std::vector<std::string> labels, FeaturizerConfig config,
                         std::vector<float> weights, std::vector<float> bias, std::string metadata)
    : labels_(std::move(labels)),
      config_(config),
      stride_(row_stride(labels_.size())),
      bias_(std::move(bias)),
      metadata_(std::move(metadata)) {
  const size_t rows = size_t{1} << config_.bucket_bits;
  const size_t k = labels_.size();
  if (labels_.empty() || bias_.size() != k || weights.size() != rows * k) {
    throw std::invalid_argument("LinearModel: weights do not match labels and bucket_bits");
  }
  if (stride_ == k) {
    weights_ = std::move(weights);
    return;
  }
  weights_.assign(rows * stride_, 0.0F);
  for (size_t r = 0; r < rows; ++r) {
    std::copy_n(weights.data() + r * k, k, weights_.data() + r * stride_);
  }
}

std::vector<float> LinearModel::weights() const {
  const size_t k = labels_.size();
  if (stride_ == k) return weights_;
  const size_t rows = weights_.size() / stride_;
  std::vector<float> out(rows * k);
  for (size_t r = 0; r < rows; ++r) {
    std::copy_n(weights_.data() + r * stride_, k, out.data() + r * k);
  }
  return out;
}

void LinearModel::predict(std::string_view text, std::span<float> probabilities) const {
  thread_local FeatureScratch scratch;
  featurize(config_, text, scratch);
  predict_features(scratch.features, probabilities);
}

void LinearModel::predict_features(std::span<const Feature> features,
                                   std::span<float> probabilities) const {
  const size_t k = labels_.size();
  if (probabilities.size() < k) {
    std::fill(probabilities.begin(), probabilities.end(), 0.0F);
    return;
  }
  auto out = probabilities.first(k);
  accumulate_logits(weights_.data(), bias_, features, out);
  softmax(out);
  std::fill(probabilities.begin() + static_cast<std::ptrdiff_t>(k), probabilities.end(), 0.0F);
}

void LinearModel::predict_shared(const FeatureScratch& scratch,
                                 std::span<float> probabilities) const {
  const size_t k = labels_.size();
  if (probabilities.size() < k) {
    std::fill(probabilities.begin(), probabilities.end(), 0.0F);
    return;
  }
  // The values featurize() would have given with this model's own settings.
  const std::array<Segment, 4> segments = shared_segments(scratch, config_);
  auto out = probabilities.first(k);
  std::copy(bias_.begin(), bias_.end(), out.begin());
  if (k <= kMaxUnrolledLabels) {
    kSegmentAccumulators[k - 1](weights_.data(), segments, out.data());
  } else {
    accumulate_segments_any(weights_.data(), stride_, k, segments, out.data());
  }
  softmax(out);
  std::fill(probabilities.begin() + static_cast<std::ptrdiff_t>(k), probabilities.end(), 0.0F);
}

void predict_shared_pair(const FeatureScratch& scratch, const LinearModel& a,
                         std::span<float> probabilities_a, const LinearModel& b,
                         std::span<float> probabilities_b) {
  const size_t ka = a.labels().size();
  const size_t kb = b.labels().size();
  if (ka > kMaxUnrolledLabels || kb > kMaxPairedLabels || probabilities_a.size() < ka ||
      probabilities_b.size() < kb) {
    a.predict_shared(scratch, probabilities_a);
    b.predict_shared(scratch, probabilities_b);
    return;
  }
  const std::array<Segment, 4> segments_a = shared_segments(scratch, a.featurizer_config());
  const std::array<Segment, 4> segments_b = shared_segments(scratch, b.featurizer_config());
  auto out_a = probabilities_a.first(ka);
  auto out_b = probabilities_b.first(kb);
  std::copy(a.bias().begin(), a.bias().end(), out_a.begin());
  std::copy(b.bias().begin(), b.bias().end(), out_b.begin());
  kPairAccumulators[kb - 1][ka - 1](a.padded_weights().data(), segments_a, out_a.data(),
                                    b.padded_weights().data(), segments_b, out_b.data());
  softmax(out_a);
  softmax(out_b);
  std::fill(probabilities_a.begin() + static_cast<std::ptrdiff_t>(ka), probabilities_a.end(), 0.0F);
  std::fill(probabilities_b.begin() + static_cast<std::ptrdiff_t>(kb), probabilities_b.end(), 0.0F);
}

bool can_share_features(const FeaturizerConfig& shared, const FeaturizerConfig& own) {
  FeaturizerConfig adjusted = own;
  adjusted.char_ngram_weight_pct = shared.char_ngram_weight_pct;
  adjusted.use_bigrams = shared.use_bigrams;
  return adjusted == shared && (shared.use_bigrams || !own.use_bigrams);
}

std::optional<FeaturizerConfig> shared_featurizer_config(const FeaturizerConfig& a,
                                                         const FeaturizerConfig& b) {
  FeaturizerConfig shared = a;
  shared.use_bigrams = (a.use_bigrams || b.use_bigrams) ? 1 : 0;
  if (!can_share_features(shared, a) || !can_share_features(shared, b)) return std::nullopt;
  return shared;
}

void softmax(std::span<float> values) {
  if (values.empty()) return;
  float max_value = -std::numeric_limits<float>::infinity();
  for (float& v : values) {
    if (std::isnan(v)) v = -std::numeric_limits<float>::infinity();
    max_value = std::max(max_value, v);
  }
  const auto uniform = 1.0F / static_cast<float>(values.size());
  if (!std::isfinite(max_value)) {
    // All -inf (or +inf somewhere): the logits carry no usable ranking information, except
    // for +inf entries, which share all the mass.
    const auto tops = std::count(values.begin(), values.end(), max_value);
    for (float& v : values) {
      v = max_value > 0 ? (v == max_value ? 1.0F / static_cast<float>(tops) : 0.0F) : uniform;
    }
    return;
  }
  float sum = 0.0F;
  for (float& v : values) {
    v = std::exp(v - max_value);
    sum += v;
  }
  for (float& v : values) v /= sum;
}

}  // namespace llm_router::classifier
