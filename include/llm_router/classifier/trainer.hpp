#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/classifier/featurizer.hpp"
#include "llm_router/classifier/linear_model.hpp"

namespace llm_router::classifier {

struct TrainOptions {
  uint64_t seed = 1;
  uint32_t epochs = 8;
  float learning_rate = 0.5F;    // AdaGrad step
  float l2 = 1e-5F;              // applied to the rows an example touches
  bool balance_classes = false;  // weight each class by n / (labels * n_class)
  FeaturizerConfig featurizer;
  std::string metadata;  // stored in the model file
};

struct TrainingExample {
  std::string_view text;
  uint32_t label;
  float weight = 1.0F;
  // Two-label models only: when >= 0, the target is this probability of label 1 instead of
  // the one-hot `label` (soft targets from a smoothed group rate).
  float soft_target = -1.0F;
};

// Softmax regression by AdaGrad over hashed features. Single-threaded and seeded, so the same
// examples in the same order with the same options give a bit-identical model.
std::shared_ptr<LinearModel> train_linear_model(std::vector<std::string> labels,
                                                std::span<const TrainingExample> examples,
                                                const TrainOptions& options);

}  // namespace llm_router::classifier
