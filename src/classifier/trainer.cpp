#include "llm_router/classifier/trainer.hpp"

#include <cmath>
#include <random>
#include <stdexcept>

namespace llm_router::classifier {
namespace {

// Every example's features computed once: the epochs then only touch weights.
struct FeatureTable {
  std::vector<Feature> features;
  std::vector<size_t> offsets{0};

  std::span<const Feature> row(size_t i) const {
    return std::span(features).subspan(offsets[i], offsets[i + 1] - offsets[i]);
  }
};

FeatureTable featurize_all(std::span<const TrainingExample> examples,
                           const FeaturizerConfig& config) {
  FeatureTable table;
  FeatureScratch scratch;
  for (const auto& example : examples) {
    featurize(config, example.text, scratch);
    table.features.insert(table.features.end(), scratch.features.begin(), scratch.features.end());
    table.offsets.push_back(table.features.size());
  }
  return table;
}

std::vector<float> class_weights(std::span<const TrainingExample> examples, size_t labels,
                                 bool balance) {
  std::vector<float> weights(labels, 1.0F);
  if (!balance) return weights;
  std::vector<double> counts(labels, 0);
  for (const auto& e : examples) counts[e.label] += 1;
  for (size_t k = 0; k < labels; ++k) {
    if (counts[k] > 0) {
      weights[k] = static_cast<float>(static_cast<double>(examples.size()) /
                                      (static_cast<double>(labels) * counts[k]));
    }
  }
  return weights;
}

// std::shuffle's algorithm is implementation-defined; this one is fixed.
void shuffle(std::vector<size_t>& order, std::mt19937_64& rng) {
  for (size_t i = order.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(order[i - 1], order[j]);
  }
}

class AdaGrad {
 public:
  AdaGrad(size_t parameters, size_t labels, const TrainOptions& options)
      : weights_(parameters, 0.0F),
        squares_(parameters, 0.0F),
        bias_(labels, 0.0F),
        bias_squares_(labels, 0.0F),
        options_(options) {}

  void step(std::span<const Feature> features, std::span<const float> gradient, size_t labels) {
    for (const auto& feature : features) {
      const size_t base = size_t{feature.bucket} * labels;
      for (size_t k = 0; k < labels; ++k) {
        float& w = weights_[base + k];
        update(w, squares_[base + k], gradient[k] * feature.value + options_.l2 * w);
      }
    }
    for (size_t k = 0; k < labels; ++k) update(bias_[k], bias_squares_[k], gradient[k]);
  }

  std::vector<float> weights_;
  std::vector<float> squares_;
  std::vector<float> bias_;
  std::vector<float> bias_squares_;

 private:
  void update(float& w, float& square, float g) {
    square += g * g;
    w -= options_.learning_rate * g / (std::sqrt(square) + 1e-6F);
  }

  const TrainOptions& options_;
};

float target(const TrainingExample& example, size_t label, size_t labels) {
  if (labels == 2 && example.soft_target >= 0.0F) {
    return label == 1 ? example.soft_target : 1.0F - example.soft_target;
  }
  return label == example.label ? 1.0F : 0.0F;
}

}  // namespace

std::shared_ptr<LinearModel> train_linear_model(std::vector<std::string> labels,
                                                std::span<const TrainingExample> examples,
                                                const TrainOptions& options) {
  const size_t k = labels.size();
  if (k < 2) throw std::invalid_argument("training needs at least two labels");
  for (const auto& e : examples) {
    if (e.label >= k) throw std::invalid_argument("training example with an unknown label");
  }
  const auto table = featurize_all(examples, options.featurizer);
  const auto weight_of_class = class_weights(examples, k, options.balance_classes);
  const size_t rows = size_t{1} << options.featurizer.bucket_bits;

  AdaGrad optimizer(rows * k, k, options);
  std::mt19937_64 rng(options.seed);
  std::vector<size_t> order(examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<float> probabilities(k);
  for (uint32_t epoch = 0; epoch < options.epochs; ++epoch) {
    shuffle(order, rng);
    for (const size_t i : order) {
      const auto features = table.row(i);
      std::copy(optimizer.bias_.begin(), optimizer.bias_.end(), probabilities.begin());
      for (const auto& f : features) {
        const float* row = optimizer.weights_.data() + size_t{f.bucket} * k;
        for (size_t j = 0; j < k; ++j) probabilities[j] += row[j] * f.value;
      }
      softmax(probabilities);
      const auto& example = examples[i];
      const float scale = example.weight * weight_of_class[example.label];
      for (size_t j = 0; j < k; ++j) {
        probabilities[j] = scale * (probabilities[j] - target(example, j, k));
      }
      optimizer.step(features, probabilities, k);
    }
  }
  return std::make_shared<LinearModel>(std::move(labels), options.featurizer,
                                       std::move(optimizer.weights_), std::move(optimizer.bias_),
                                       options.metadata);
}

}  // namespace llm_router::classifier
