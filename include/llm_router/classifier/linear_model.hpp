#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llm_router/classifier/featurizer.hpp"
#include "llm_router/classifier/text_model.hpp"

namespace llm_router::classifier {

// Floats per stored weight row for `labels` labels: 5..16 labels are padded to whole
// four-float vectors (11 -> 12), so a row is added with vector instructions only.
constexpr std::size_t row_stride(std::size_t labels) {
  return labels > 4 && labels <= 16 && labels % 4 != 0 ? (labels + 3) / 4 * 4 : labels;
}

// Multinomial logistic regression over hashed features. Weights are row-major by bucket
// (one bucket's label weights share a cache line), so predict touches one line per feature.
class LinearModel final : public TextModel {
 public:
  // weights.size() must be (2^bucket_bits) * labels.size(), bias.size() == labels.size().
  LinearModel(std::vector<std::string> labels, FeaturizerConfig config, std::vector<float> weights,
              std::vector<float> bias, std::string metadata = {});

  const std::vector<std::string>& labels() const override { return labels_; }
  void predict(std::string_view text, std::span<float> probabilities) const override;
  // Same as predict() on features featurized already (the trainer's evaluation path).
  void predict_features(std::span<const Feature> features, std::span<float> probabilities) const;
  // Same as predict(text) when `scratch` holds featurize(shared, text) and
  // can_share_features(shared, featurizer_config()): bit-identical probabilities, without
  // featurizing the text again.
  void predict_shared(const FeatureScratch& scratch, std::span<float> probabilities) const;

  const FeaturizerConfig& featurizer_config() const { return config_; }
  // Row-major by bucket, labels().size() floats per row (a copy: rows are stored padded).
  std::vector<float> weights() const;
  // The rows as stored, row_stride(labels) floats each, zeros after the labels' weights.
  const std::vector<float>& padded_weights() const { return weights_; }
  const std::vector<float>& bias() const { return bias_; }
  const std::string& metadata() const { return metadata_; }

 private:
  std::vector<std::string> labels_;
  FeaturizerConfig config_;
  std::vector<float> weights_;
  std::size_t stride_;
  std::vector<float> bias_;
  std::string metadata_;  // free text written by the trainer: target, seed, epochs
};

// a.predict_shared(scratch, probabilities_a) and b.predict_shared(scratch, probabilities_b),
// bit-identical, in one pass over the features when b has few labels (the shipped complexity
// model has two): the two models' weight loads and additions overlap.
void predict_shared_pair(const FeatureScratch& scratch, const LinearModel& a,
                         std::span<float> probabilities_a, const LinearModel& b,
                         std::span<float> probabilities_b);

// True when features computed with `shared` can stand for a model's own (`own`) featurization:
// every setting equal except the n-gram family weight (applied at prediction) and bigrams
// (skipped when `own` has none).
bool can_share_features(const FeaturizerConfig& shared, const FeaturizerConfig& own);
// The settings that serve both a and b (bigrams if either has them), or nullopt.
std::optional<FeaturizerConfig> shared_featurizer_config(const FeaturizerConfig& a,
                                                         const FeaturizerConfig& b);

// In place; finite output summing to 1 for any input, NaN and infinities included.
void softmax(std::span<float> values);

// Model file, little-endian:
//   "LLMRCLS\0" | u32 version | u32 label count | per label: u32 length, bytes
//   | 8 x u32 featurizer config | u32 metadata length, bytes | u32 weight encoding (0 = f32)
//   | f32 bias[labels] | f32 weights[2^bucket_bits * labels] | u64 FNV-1a of all bytes before
inline constexpr uint32_t kModelFormatVersion = 1;
std::vector<unsigned char> serialize_model(const LinearModel& model);
// `name` only labels the error messages (usually the path).
std::shared_ptr<const LinearModel> parse_model(std::span<const unsigned char> bytes,
                                               const std::string& name);
void save_model(const LinearModel& model, const std::string& path);
std::shared_ptr<const LinearModel> load_linear_model(const std::string& path);

}  // namespace llm_router::classifier
