#include <iostream>

#include "llm_router/cli/commands.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/config/config.hpp"
#include "llm_router/core/file.hpp"
#include "llm_router/proxy/router_handler.hpp"
#include "llm_router/requestlog/writer.hpp"

namespace llm_router::cli {

int run_check(const std::vector<std::string>& args) {
  Options options(args);
  const auto path = options.value("--config");
  if (!path || !options.ok()) {
    std::cerr << "usage: llm-router check --config FILE\n" << options.problems();
    return 2;
  }
  try {
    const auto config = std::make_shared<config::Config>(config::load_config_file(*path));
    // Building the runtime compiles the routes and loads the analyzer's model files; without
    // its request log, which would create the file as whoever runs the check.
    auto without_log = std::make_shared<config::Config>(*config);
    without_log->request_log.path.clear();
    proxy::RouterState runtime(without_log, *path, 1);
    if (const auto problem = requestlog::request_log_problem(config->request_log);
        !problem.empty()) {
      // FILE:LINE:COL as the loader's own problems are written.
      const auto& log = config->request_log;
      constexpr std::string_view kKey = "request_log.path: ";
      const std::string message = problem.starts_with(kKey) ? problem.substr(kKey.size()) : problem;
      std::cerr << config::Diagnostic{*path, log.path_line, log.path_column, "request_log.path",
                                      message}
                       .format()
                << "\n";
      return 1;
    }
    if (const std::string& file = config->server.state_file; !file.empty()) {
      if (const auto problem = core::replaceable_file_problem(file); !problem.empty()) {
        std::cerr << *path << ": server.state_file: cannot write '" << file << "': " << problem
                  << "\n";
        return 1;
      }
    }
    const auto counted = [](std::size_t n, const char* noun) {
      return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
    };
    std::cout << *path << ": ok (" << counted(config->backends.size(), "backend") << ", "
              << counted(config->routes.size(), "route") << ")\n";
    for (const auto& advice : config::advisories(*config))
      std::cout << "warning: " << advice << "\n";
    return 0;
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << *path << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace llm_router::cli
