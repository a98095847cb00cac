#include "llm_router/classifier/dataset.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "llm_router/classifier/featurizer.hpp"

namespace llm_router::classifier {
namespace {

constexpr uint64_t kSplitSeed = 0x5eed5;

Record to_record(const nlohmann::json& row) {
  Record r;
  r.prompt = row.at("prompt").get<std::string>();
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
    } catch (const nlohmann::json::exception& e) {
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

bool has_routing_labels(const Record& record) {
  return record.strong_quality.has_value() && record.weak_quality.has_value();
}

}  // namespace llm_router::classifier
