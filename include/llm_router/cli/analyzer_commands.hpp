#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace llm_router::analyzer {
class Analyzer;
struct Analysis;
}  // namespace llm_router::analyzer

// The analyzer's subcommands of the llm-router binary: arguments after the name, exit code.
namespace llm_router::cli {

// classify [--config FILE]: JSONL prompts or request bodies on stdin -> one Analysis per line.
int run_classify(const std::vector<std::string>& args);
// The analyzer of a config's analyzer: section, as the router builds it (without a path:
// config/llm-router.yaml with the conventional model files). Throws on errors.
std::shared_ptr<const analyzer::Analyzer> analyzer_from_config(
    const std::optional<std::string>& config_path);
// One JSONL row as the router reads it: a `prompt` (a string: the user's message), a chat
// (`messages`), completions or embeddings request. Throws on any other row.
analyzer::Analysis analyze_row(const analyzer::Analyzer& analyzer, const nlohmann::json& row);
// sentiment [--data FILE] [--lexicon FILE] [--out FILE]: fits config/models/sentiment.json.
int run_train_sentiment(const std::vector<std::string>& args);

}  // namespace llm_router::cli
