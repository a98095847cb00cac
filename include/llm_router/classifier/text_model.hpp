#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llm_router::classifier {

// A trained text classifier: a probability per label for any text. Immutable once loaded,
// so one instance serves every io thread without locks.
class TextModel {
 public:
  virtual ~TextModel() = default;
  virtual const std::vector<std::string>& labels() const = 0;
  // Writes labels().size() probabilities summing to 1. No allocation on the hot path where
  // the implementation can avoid it; never throws.
  virtual void predict(std::string_view text, std::span<float> probabilities) const = 0;
};

// Loads a model file written by `llm-router train`. Throws std::runtime_error naming the file
// and what is wrong (startup only).
std::shared_ptr<const TextModel> load_text_model(const std::string& path);

}  // namespace llm_router::classifier
