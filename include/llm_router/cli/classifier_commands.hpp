#pragma once

#include <string>
#include <vector>

// The classifier's subcommands: train a model from JSONL, evaluate it, pick a routing threshold.
namespace llm_router::cli {

int run_train(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_calibrate(const std::vector<std::string>& args);

}  // namespace llm_router::cli
