#include "llm_router/classifier/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "llm_router/classifier/featurizer.hpp"

namespace llm_router::classifier {
namespace {

constexpr uint64_t kSplitSeed = 0x5eed5;

Record to_record(const nlohmann::json& row) {
  Record r;
  const auto prompt = row.find("prompt");
  if (prompt == row.end() || !prompt->is_string()) {
    throw std::runtime_error("each row needs a \"prompt\" string");
  }
  r.prompt = prompt->get<std::string>();
  if (row.contains("label")) r.label = row["label"].get<std::string>();
  if (row.contains("strong_correct") && row.contains("weak_correct")) {
    r.strong_quality = row["strong_correct"].get<bool>() ? 1.0 : 0.0;
    r.weak_quality = row["weak_correct"].get<bool>() ? 1.0 : 0.0;
  } else if (row.contains("strong_score") && row.contains("weak_score")) {
    r.strong_quality = row["strong_score"].get<double>();
    r.weak_quality = row["weak_score"].get<double>();
    r.scored = true;
  }
  if (row.contains("benchmark")) r.benchmark = row["benchmark"].get<std::string>();
  if (row.contains("domain")) {
    r.domain = row["domain"].get<std::string>();
  } else if (row.contains("category") && row["category"].is_string()) {
    r.domain = row["category"].get<std::string>();
  }
  if (row.contains("source") && row["source"].is_string()) r.source = row["source"];
  if (row.contains("level") && row["level"].is_string()) r.level = row["level"];
  if (row.contains("routellm_contaminated")) {
    r.contaminated = row["routellm_contaminated"].get<bool>();
  }
  return r;
}

}  // namespace

std::vector<Record> parse_jsonl(std::istream& in, const std::string& name) {
  std::vector<Record> records;
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      records.push_back(to_record(nlohmann::json::parse(line)));
    } catch (const std::exception& e) {
      throw std::runtime_error(name + ":" + std::to_string(line_number) + ": " + e.what());
    }
  }
  return records;
}

std::vector<Record> read_jsonl_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open data file");
  return parse_jsonl(in, path);
}

bool in_validation(std::string_view prompt, double fraction) {
  const double u = static_cast<double>(hash_bytes(prompt, kSplitSeed) >> 11) * 0x1.0p-53;
  return u < fraction;
}

bool weak_fails(const Record& record, PositiveRule rule) {
  if (!has_routing_labels(record)) return false;
  if (record.scored) {
    if (rule == PositiveRule::kWeakWrong) return *record.weak_quality < 8.0;
    return *record.strong_quality - *record.weak_quality >= kScoreMargin;
  }
  if (rule == PositiveRule::kWeakWrong) return *record.weak_quality < 0.5;
  return *record.strong_quality > *record.weak_quality;
}

namespace {

bool ends_sentence(char c) {
  return c == '?' || c == '.' || c == '!';
}

bool opens_question(std::string_view prompt) {
  static constexpr std::string_view kQuestionWords[] = {
      "what", "who",   "whom",   "whose", "where", "when", "why", "how", "which",
      "is",   "are",   "was",    "were",  "do",    "does", "did", "can", "could",
      "will", "would", "should", "have",  "has",   "may",  "am"};
  const std::size_t end = prompt.find_first_of(" \t\n'");
  const std::string_view first = prompt.substr(0, end);
  return std::find(std::begin(kQuestionWords), std::end(kQuestionWords), first) !=
         std::end(kQuestionWords);
}

}  // namespace

std::string restyled(std::string_view prompt) {
  while (!prompt.empty() && std::isspace(static_cast<unsigned char>(prompt.back()))) {
    prompt.remove_suffix(1);
  }
  const bool lowercase =
      std::none_of(prompt.begin(), prompt.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  std::string out(prompt);
  if (out.empty()) return out;
  if (lowercase && !ends_sentence(out.back())) {
    const bool question = opens_question(out);
    if (out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
    out += question ? '?' : '.';
    return out;
  }
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  while (!out.empty() && ends_sentence(out.back())) out.pop_back();
  return out;
}

bool has_routing_labels(const Record& record) {
  return record.strong_quality.has_value() && record.weak_quality.has_value();
}

}  // namespace llm_router::classifier
