#include "llm_router/classifier/linear_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace llm_router::classifier {
namespace {

// Features ahead of the one being added whose weight rows are requested early: the rows are
// scattered over megabytes, so overlapping the misses is most of predict's speed.
constexpr size_t kPrefetchDistance = 16;
constexpr size_t kMaxUnrolledLabels = 16;

// The label count as a compile-time constant lets the accumulator live in registers; with a
// runtime count every feature would store and reload it (a store-forwarding chain that costs
// more than the weight loads).
template <size_t K>
void accumulate_fixed(const float* weights, std::span<const Feature> features, float* out) {
  std::array<float, K> acc{};
  const size_t n = features.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchDistance < n) {
      __builtin_prefetch(weights + size_t{features[i + kPrefetchDistance].bucket} * K);
    }
    const float* row = weights + size_t{features[i].bucket} * K;
    const float value = features[i].value;
    for (size_t j = 0; j < K; ++j) acc[j] += row[j] * value;
  }
  for (size_t j = 0; j < K; ++j) out[j] += acc[j];
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
  std::array<float, K> acc{};
  for (const Segment& segment : segments) {
    const Feature* features = segment.begin;
    const size_t n = segment.size;
    const float value = segment.value;
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchDistance < n) {
        __builtin_prefetch(weights + size_t{features[i + kPrefetchDistance].bucket} * K);
      }
      const float* row = weights + size_t{features[i].bucket} * K;
      for (size_t j = 0; j < K; ++j) acc[j] += row[j] * value;
    }
  }
  for (size_t j = 0; j < K; ++j) out[j] += acc[j];
}

void accumulate_segments_any(const float* weights, size_t k, std::span<const Segment> segments,
                             float* out) {
  for (const Segment& segment : segments) {
    for (size_t i = 0; i < segment.size; ++i) {
      const float* row = weights + size_t{segment.begin[i].bucket} * k;
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
      weights_(std::move(weights)),
      bias_(std::move(bias)),
      metadata_(std::move(metadata)) {
  const size_t rows = size_t{1} << config_.bucket_bits;
  if (labels_.empty() || bias_.size() != labels_.size() ||
      weights_.size() != rows * labels_.size()) {
    throw std::invalid_argument("LinearModel: weights do not match labels and bucket_bits");
  }
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
  const Feature* base = scratch.features.data();
  const size_t words = scratch.word_tokens;
  const size_t bigrams = config_.use_bigrams ? scratch.bigrams : 0;
  const size_t ngrams_begin = scratch.word_tokens + scratch.bigrams;
  std::array<Segment, 4> segments{};
  size_t count = 0;
  if (words + bigrams > 0) {
    const float value = family_value(1.0F, words + bigrams);
    segments[count++] = {base, words, value};
    segments[count++] = {base + words, bigrams, value};
  }
  if (scratch.char_ngrams > 0) {
    const float weight = static_cast<float>(config_.char_ngram_weight_pct) / 100.0F;
    segments[count++] = {base + ngrams_begin, scratch.char_ngrams,
                         family_value(weight, scratch.char_ngrams)};
  }
  segments[count++] = {base + ngrams_begin + scratch.char_ngrams, scratch.dense, 1.0F};
  auto out = probabilities.first(k);
  std::copy(bias_.begin(), bias_.end(), out.begin());
  const std::span<const Segment> used(segments.data(), count);
  if (k <= kMaxUnrolledLabels) {
    kSegmentAccumulators[k - 1](weights_.data(), used, out.data());
  } else {
    accumulate_segments_any(weights_.data(), k, used, out.data());
  }
  softmax(out);
  std::fill(probabilities.begin() + static_cast<std::ptrdiff_t>(k), probabilities.end(), 0.0F);
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
