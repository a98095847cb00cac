#pragma once

#include <string>
#include <vector>

// The analyzer's subcommands of the llm-router binary: arguments after the name, exit code.
namespace llm_router::cli {

// classify [--config FILE]: JSONL prompts or request bodies on stdin -> one Analysis per line.
int run_classify(const std::vector<std::string>& args);
// sentiment [--data FILE] [--lexicon FILE] [--out FILE]: fits config/models/sentiment.json.
int run_train_sentiment(const std::vector<std::string>& args);

}  // namespace llm_router::cli
