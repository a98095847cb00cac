// Fits the sentiment calibration on data/sentiment/train.jsonl and reports Pearson r on the
// held-out part of it (see docs/analyzer-signals.md).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "llm_router/analyzer/sentiment_train.hpp"
#include "llm_router/cli/analyzer_commands.hpp"
#include "llm_router/cli/options.hpp"

namespace llm_router::cli {
namespace {

std::vector<analyzer::SentimentExample> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<analyzer::SentimentExample> out;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      const auto row = nlohmann::json::parse(line);
      out.push_back({row.at("prompt").get<std::string>(), row.at("sentiment").get<double>(),
                     row.at("source").get<std::string>(), row.at("id").get<std::string>()});
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  return out;
}

// FILE[,FILE...]
std::vector<analyzer::SentimentExample> read_examples(const std::string& paths) {
  std::vector<analyzer::SentimentExample> out;
  for (const auto& path : split_list(paths)) {
    auto part = read_file(path);
    out.insert(out.end(), std::make_move_iterator(part.begin()),
               std::make_move_iterator(part.end()));
  }
  return out;
}

// "1,5,20": positive numbers.
std::vector<double> parse_l2_grid(const std::string& text) {
  std::vector<double> grid;
  for (const auto& item : split_list(text)) {
    double value = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (error != std::errc() || end != item.data() + item.size() || !(value > 0)) {
      throw std::runtime_error("--ngram-l2: expected positive numbers, got '" + item + "'");
    }
    grid.push_back(value);
  }
  if (grid.empty()) throw std::runtime_error("--ngram-l2: expected positive numbers");
  return grid;
}

void print_report(const analyzer::SentimentTrainResult& result) {
  std::printf("train rows %zu, validation rows %zu, n-gram L2 %.1f\n", result.train_rows,
              result.validation_rows, result.chosen_hashed_l2);
  std::printf("%-24s %6s %9s %9s\n", "validation source", "rows", "vader r", "model r");
  for (const auto& [source, count] : result.validation.count) {
    std::printf("%-24s %6zu %9.4f %9.4f\n", source.c_str(), count,
                result.validation.vader.at(source), result.validation.model.at(source));
  }
}

}  // namespace

int run_train_sentiment(const std::vector<std::string>& args) {
  Options options(args);
  const std::string data = options.value("--data").value_or("data/sentiment/train.jsonl");
  const std::string lexicon_path =
      options.value("--lexicon").value_or("data/sentiment/vader_lexicon.txt");
  const std::string out_path = options.value("--out").value_or("config/models/sentiment.json");
  const auto repeat = options.value("--repeat");
  const auto ngram_l2 = options.value("--ngram-l2");
  if (!options.ok()) {
    std::cerr
        << "usage: llm-router sentiment [--data FILE[,FILE...]] [--lexicon FILE] [--out FILE]\n"
           "  [--repeat SOURCE=N[,...]]   training rows of SOURCE count N times\n"
           "  [--ngram-l2 X[,Y...]]       n-gram L2 strengths to choose from\n"
        << options.problems();
    return 2;
  }
  try {
    const auto examples = read_examples(data);
    const auto lexicon = analyzer::VaderLexicon::load(lexicon_path);
    analyzer::SentimentTrainOptions train_options;
    if (repeat) train_options.source_repeats = parse_repeat_counts(*repeat, "--repeat");
    if (ngram_l2) train_options.hashed_l2_grid = parse_l2_grid(*ngram_l2);
    const auto result = analyzer::train_sentiment(examples, lexicon, train_options);
    std::ofstream out(out_path);
    if (!out) throw std::runtime_error("cannot write " + out_path);
    out << result.weights.to_json().dump() << "\n";
    out.close();
    print_report(result);
    // Reloading proves the shipped file scores exactly what was reported.
    const auto reloaded = analyzer::load_sentiment_model(lexicon_path, out_path);
    std::vector<analyzer::SentimentExample> validation;
    for (const auto& example : examples) {
      if (analyzer::is_validation_example(example)) validation.push_back(example);
    }
    const auto check = analyzer::evaluate_sentiment(validation, *reloaded, *reloaded);
    std::printf("wrote %s (reloaded: validation r %.4f)\n", out_path.c_str(),
                check.model.at("all"));
    if (!train_options.source_repeats.empty() &&
        std::any_of(validation.begin(), validation.end(), [&](const auto& example) {
          return !train_options.source_repeats.contains(example.source);
        })) {
      // "all" above counts the repeated sources' rows too; this is the figure to compare with a
      // model trained without them.
      std::erase_if(validation, [&](const analyzer::SentimentExample& example) {
        return train_options.source_repeats.contains(example.source);
      });
      const analyzer::SentimentModel vader_only(lexicon, std::nullopt);
      const auto others = analyzer::evaluate_sentiment(validation, vader_only, *reloaded);
      std::printf("validation without the repeated sources: rows %zu, vader r %.4f, model r %.4f\n",
                  validation.size(), others.vader.at("all"), others.model.at("all"));
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sentiment: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace llm_router::cli
