#include <fstream>
#include <iostream>
#include <sstream>

#include "llm_router/cli/commands.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/proxy/router_handler.hpp"

namespace llm_router::cli {

// The whole routing decision for one request file, as POST /v1/route returns it, offline.
int run_explain(const std::vector<std::string>& args) {
  Options options(args);
  const auto config_path = options.value("--config");
  const auto request_path = options.value("--json");
  if (!config_path || !request_path || !options.ok()) {
    std::cerr << "usage: llm-router explain --config FILE --json REQUEST_FILE  (- reads stdin)\n"
              << options.problems();
    return 2;
  }
  std::stringstream text;
  if (*request_path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(*request_path);
    if (!in) {
      std::cerr << "cannot read " << *request_path << "\n";
      return 1;
    }
    text << in.rdbuf();
  }
  const std::string body = text.str();
  try {
    auto config = std::make_shared<config::Config>(config::load_config_file(*config_path));
    proxy::RouterState state(config, *config_path, 1);
    auto parsed = api::parse_request(body, api::Endpoint::chat_completions);
    if (!parsed) {
      std::cerr << *request_path << ": " << parsed.failure().message << "\n";
      return 1;
    }
    server::HttpRequest request;
    request.method = "POST";
    request.target = "/v1/chat/completions";
    const auto decision = proxy::decide(*state.snapshot(), state.bandit(), *parsed, request,
                                        api::Endpoint::chat_completions, /*dry_run=*/true);
    std::cout << decision.to_json().dump(2) << "\n";
    return decision.plan.ok() ? 0 : 1;
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "llm-router explain: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace llm_router::cli
