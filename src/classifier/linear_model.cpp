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

void accumulate_any(const float* weights, size_t k, std::span<const Feature> features, float* out) {
  for (const auto& feature : features) {
    const float* row = weights + size_t{feature.bucket} * k;
    for (size_t j = 0; j < k; ++j) out[j] += row[j] * feature.value;
  }
}

using Accumulator = void (*)(const float*, std::span<const Feature>, float*);

template <size_t... K>
constexpr std::array<Accumulator, sizeof...(K)> make_accumulators(std::index_sequence<K...>) {
  return {&accumulate_fixed<K + 1>...};
}
constexpr auto kAccumulators = make_accumulators(std::make_index_sequence<kMaxUnrolledLabels>{});

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
