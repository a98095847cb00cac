#pragma once

#include <string>
#include <vector>

// Each subcommand of the llm-router binary: arguments after the subcommand's name, exit code.
namespace llm_router::cli {

int run_serve(const std::vector<std::string>& args);
int run_check(const std::vector<std::string>& args);
int run_explain(const std::vector<std::string>& args);

}  // namespace llm_router::cli
