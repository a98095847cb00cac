#pragma once

#include <map>
#include <string>
#include <vector>

#include "llm_router/analyzer/sentiment.hpp"

namespace llm_router::analyzer {

// One human-rated sentence of data/sentiment/train.jsonl.
struct SentimentExample {
  std::string text;
  double rating = 0;  // mean human rating -4..+4
  std::string source;
  std::string id;
};

// Deterministic 80/20 split by a hash of "source:id" (ids repeat across sources).
bool is_validation_example(const SentimentExample& example);

struct SentimentTrainOptions {
  double dense_l2 = 1.0;
  // Candidates for the n-gram L2 penalty, chosen on an inner split of the training part: the
  // best overall r among those no worse than plain VADER on the guarded sources.
  std::vector<double> hashed_l2_grid = {1.0, 2.0, 5.0, 10.0, 20.0, 50.0};
  std::vector<std::string> guarded_sources = {"tweets"};
  int iterations = 400;  // conjugate-gradient steps
  // Training rows of these sources count this many times (an integer weight in the least
  // squares): a small set of a kind of text the others lack, such as support messages.
  std::map<std::string, int> source_repeats;
};

struct PearsonBySource {
  std::map<std::string, double> vader;  // source (and "all") -> Pearson r of VADER's compound
  std::map<std::string, double> model;  // same for the trained model
  std::map<std::string, std::size_t> count;
};

struct SentimentTrainResult {
  SentimentWeights weights;
  double chosen_hashed_l2 = 0;
  std::size_t train_rows = 0;
  std::size_t validation_rows = 0;
  PearsonBySource validation;
};

// Ridge regression of the rating on sentiment_features(), fitted on the training part only;
// the validation part is scored once at the end.
SentimentTrainResult train_sentiment(const std::vector<SentimentExample>& examples,
                                     const VaderLexicon& lexicon,
                                     const SentimentTrainOptions& options = {});

PearsonBySource evaluate_sentiment(const std::vector<SentimentExample>& examples,
                                   const SentimentModel& vader_only, const SentimentModel& trained);

double pearson(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace llm_router::analyzer
