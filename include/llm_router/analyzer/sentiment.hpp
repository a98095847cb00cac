#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace llm_router::analyzer {

// What VADER knows about one lowercase token: lexicon valence, booster/dampener, negation.
struct VaderWordInfo;

// The VADER lexicon (token -> mean valence -4..+4) merged with VADER's booster, negation and
// idiom word lists into one hash table, so each word costs one lookup. Cheap to copy (shared).
class VaderLexicon {
 public:
  VaderLexicon();  // no lexicon entries, only the built-in word lists
  // Throws std::runtime_error naming the file when it cannot be read or parsed.
  static VaderLexicon load(const std::string& path);
  // "token\tvalence[\t...]" lines, as in vader_lexicon.txt.
  static VaderLexicon parse(std::string_view text, const std::string& source_name);

  const float* find(std::string_view lower_token) const;  // lexicon valence or null
  const VaderWordInfo* info(std::string_view lower_token) const;
  std::size_t size() const { return entries_; }

  struct Table;  // defined in sentiment.cpp
  const Table& table() const { return *table_; }

 private:
  std::shared_ptr<const Table> table_;
  std::size_t entries_ = 0;
};

// VADER's outputs plus the intermediate sums the learned calibration uses as features.
struct VaderScores {
  double neg = 0;
  double neu = 0;
  double pos = 0;
  double compound = 0;  // -1..1, as VADER's polarity_scores()["compound"] (unrounded)
  double sum = 0;       // sum of word valences after the "but" shift, before punctuation
  double pos_sum = 0;
  double neg_sum = 0;
  int neu_count = 0;
  int words = 0;
  int caps_words = 0;
  int exclamations = 0;
  int questions = 0;
};

// VADER (Hutto & Gilbert 2014, vaderSentiment 3.3.2) without the emoji-description step.
VaderScores vader_scores(std::string_view text, const VaderLexicon& lexicon);

// `text` with its common emoji read as English words of the same feeling ("😡" as "angry"), in
// `buffer` when there are any; VADER, the trained model and their features read it so.
std::string_view with_emoji_words(std::string_view text, std::string& buffer);
// Those words alone, in order, space-separated (for text in another language).
std::string emoji_words(std::string_view text);

// A linear model over VADER features and hashed word n-grams, predicting the human rating
// (-4..+4); trained by `llm-router sentiment`.
struct SentimentWeights {
  static constexpr int kHashBits = 16;
  static constexpr std::size_t kHashBuckets = std::size_t{1} << kHashBits;
  double bias = 0;
  std::vector<double> dense_mean;
  std::vector<double> dense_scale;
  std::vector<double> dense;  // one per dense feature, on standardised features
  std::vector<float> hashed;  // kHashBuckets weights

  // Rounds the n-gram weights to what to_json() stores, so evaluation sees the shipped model.
  void quantize();
  static double hashed_step(const std::vector<float>& hashed);
  nlohmann::json to_json() const;
  // Throws std::runtime_error (with `source`) when the shape is wrong.
  static SentimentWeights from_json(const nlohmann::json& json, const std::string& source);
};

// Number of dense features sentiment_features() emits before the hashed ones.
inline constexpr std::size_t kSentimentDenseFeatures = 20;

// Calls visit(dense_index, value) for the raw dense features, then visit(kSentimentDenseFeatures
// + bucket, value) for the hashed n-grams. Shared by training and scoring, so they cannot drift.
void sentiment_features(std::string_view text, const VaderScores& scores,
                        const std::function<void(std::size_t, double)>& visit);

class SentimentModel {
 public:
  SentimentModel(VaderLexicon lexicon, std::optional<SentimentWeights> weights);

  // -1..1: the learned model's rating / 4 when weights are present, else VADER's compound.
  double score(std::string_view text) const { return score_with_vader(text).first; }
  // (score, VADER compound) from one pass over the text.
  std::pair<double, double> score_with_vader(std::string_view text) const;
  // VADER's compound over the tokens without ASCII letters (":)", ":(", "<3"): the part of
  // the lexicon that means the same in any language.
  double score_symbols(std::string_view text) const;
  // VADER's compound over English glosses of a text in another language (its words of
  // feeling, negations and intensifiers, in order: english_sentiment_glosses) and the text's
  // own symbols.
  double score_glossed(std::string_view glosses, std::string_view text) const;
  VaderScores vader(std::string_view text) const { return vader_scores(text, lexicon_); }
  bool trained() const { return weights_.has_value(); }
  const VaderLexicon& lexicon() const { return lexicon_; }

 private:
  VaderLexicon lexicon_;
  std::optional<SentimentWeights> weights_;
};

// Loads the lexicon and, when weights_path is not empty, the learned weights (JSON).
// Throws std::runtime_error naming the path on failure.
std::shared_ptr<const SentimentModel> load_sentiment_model(const std::string& lexicon_path,
                                                           const std::string& weights_path);

}  // namespace llm_router::analyzer
