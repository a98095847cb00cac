#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llm_router::classifier {

// One JSONL row of the shared data sets (category or strong-vs-weak schema).
struct Record {
  std::string prompt;
  std::string label;                     // category sets
  std::optional<double> strong_quality;  // strong_correct as 0/1, or MT-Bench strong_score
  std::optional<double> weak_quality;
  bool scored = false;  // qualities are judge scores (MT-Bench), not correctness
  std::string benchmark;
  std::string domain;         // MMLU subject or MT-Bench category, when the row has one
  bool contaminated = false;  // routellm_contaminated: excluded from routing evaluation
  std::string source;         // the set a category row was drawn from (e.g. "humaneval")
  std::string level;          // its difficulty level when the set has one (MATH: "Level 3")
};

// Throws std::runtime_error naming `name` and the line on malformed input.
std::vector<Record> parse_jsonl(std::istream& in, const std::string& name);
std::vector<Record> read_jsonl_file(const std::string& path);

// Deterministic train/validation split on the prompt text, independent of file order: a
// prompt is in the validation part when its hash falls in the lowest `fraction` of the range.
bool in_validation(std::string_view prompt, double fraction);

// The positive ("weak fails") class of the complexity target: the weak model does worse than
// the strong one would have. Correctness: strong right and weak wrong. Judge scores: the strong
// answer is better by at least `kScoreMargin` points.
// kWeakWrong instead counts every weak failure, also those the strong model fails too.
inline constexpr double kScoreMargin = 1.0;
enum class PositiveRule { kStrongWins, kWeakWrong };
bool weak_fails(const Record& record, PositiveRule rule = PositiveRule::kStrongWins);

// The prompt in the other everyday surface style, for training copies: a prompt written all
// in lowercase without final punctuation ("what is your name") gets a capital and a final
// '?' or '.' ("What is your name?"); any other prompt is lowercased and loses its final
// punctuation. Data sets differ in such style (small-talk sets are lowercase and unpunctuated),
// and a model that learns the style instead of the words fails on real prompts.
std::string restyled(std::string_view prompt);
bool has_routing_labels(const Record& record);

}  // namespace llm_router::classifier
