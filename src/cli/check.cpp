#include <iostream>

#include "llm_router/cli/commands.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/config/config.hpp"

namespace llm_router::cli {

int run_check(const std::vector<std::string>& args) {
  Options options(args);
  const auto path = options.value("--config");
  if (!path || !options.ok()) {
    std::cerr << "usage: llm-router check --config FILE\n" << options.problems();
    return 2;
  }
  try {
    const auto config = config::load_config_file(*path);
    std::cout << *path << ": ok (" << config.backends.size() << " backends, "
              << config.routes.size() << " routes)\n";
    return 0;
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 1;
  }
}

}  // namespace llm_router::cli
