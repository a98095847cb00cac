// Composition root: picks the subcommand and hands over. Each command wires its own modules.
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "llm_router/cli/analyzer_commands.hpp"
#include "llm_router/cli/classifier_commands.hpp"
#include "llm_router/cli/commands.hpp"
#include "llm_router/core/version.hpp"

namespace {

struct Command {
  std::string_view name;
  int (*run)(const std::vector<std::string>&);
  std::string_view summary;
};

constexpr Command kCommands[] = {
    {"serve", llm_router::cli::run_serve,
     "run the router: serve --config FILE [--listen HOST:PORT]"},
    {"check", llm_router::cli::run_check, "validate a config: check --config FILE"},
    {"explain", llm_router::cli::run_explain,
     "routing decision for a request: explain --config FILE --json REQUEST_FILE"},
    {"classify", llm_router::cli::run_classify,
     "analyze JSONL prompts from stdin: classify [--config FILE]"},
    {"sentiment", llm_router::cli::run_train_sentiment,
     "fit config/models/sentiment.json: sentiment [--data FILE] [--out FILE]"},
    {"train", llm_router::cli::run_train,
     "train a classifier: train --data FILE.jsonl --target label|weak_fails --out MODEL"},
    {"eval", llm_router::cli::run_eval,
     "evaluate a classifier: eval --data FILE.jsonl --model MODEL"},
    {"calibrate", llm_router::cli::run_calibrate,
     "routing threshold: calibrate --data FILE.jsonl --model MODEL --strong-share 0.3"},
};

void print_help(std::ostream& out) {
  out << "llm-router " << llm_router::kVersion
      << ": routes OpenAI-compatible requests to the model that fits best.\n\n"
      << "usage: llm-router COMMAND [OPTIONS]\n\ncommands:\n";
  for (const auto& command : kCommands) {
    out << "  " << command.name << std::string(12 - command.name.size(), ' ') << command.summary
        << "\n";
  }
  out << "\n  --version   print the version\n  --help      print this help\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help(std::cerr);
    return 2;
  }
  const std::string_view first = argv[1];
  if (first == "--version" || first == "version") {
    std::cout << "llm-router " << llm_router::kVersion << "\n";
    return 0;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    print_help(std::cout);
    return 0;
  }
  for (const auto& command : kCommands) {
    if (command.name != first) continue;
    if (argc == 3 && (std::string_view(argv[2]) == "--help" || std::string_view(argv[2]) == "-h")) {
      std::cout << "llm-router " << command.name << ": " << command.summary << "\n";
      return 0;
    }
    // A reload signal that arrives while the router starts (a config push, a reloader sidecar)
    // must not kill it; the server installs its SIGHUP handler once it runs.
    if (command.name == "serve") std::signal(SIGHUP, SIG_IGN);
    const int status = command.run(std::vector<std::string>(argv + 2, argv + argc));
    // Results that did not reach their file (a full disk, a closed pipe) are a failure.
    if (!std::cout.flush()) {
      std::cerr << "llm-router " << first << ": cannot write the output\n";
      return status == 0 ? 1 : status;
    }
    return status;
  }
  std::cerr << "llm-router: unknown command '" << first << "'\n\n";
  print_help(std::cerr);
  return 2;
}
