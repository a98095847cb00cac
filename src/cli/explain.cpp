#include <fstream>
#include <iostream>
#include <sstream>

#include "llm_router/api/responses.hpp"
#include "llm_router/cli/commands.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/proxy/router_handler.hpp"

namespace llm_router::cli {

// The whole routing decision for one request file, as POST /v1/route returns it, offline.
int run_explain(const std::vector<std::string>& args) {
  Options options(args);
  const auto config_path = options.value("--config");
  const auto request_path = options.value("--json");
  const auto endpoint = options.value("--endpoint");
  if (!config_path || !request_path || !options.ok()) {
    std::cerr << "usage: llm-router explain --config FILE --json REQUEST_FILE  (- reads stdin)\n"
                 "         [--endpoint chat/completions|completions|embeddings|responses]\n"
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
  std::string body = text.str();
  // Read as POST /v1/route reads it: what the body looks like, or the endpoint named.
  const auto shape = proxy::request_shape(body, endpoint);
  if (!shape) {
    std::cerr << "--endpoint must be chat/completions, completions, embeddings or responses\n";
    return 2;
  }
  try {
    auto config = std::make_shared<config::Config>(config::load_config_file(*config_path));
    proxy::RouterState state(config, *config_path, 1);
    if (shape->responses) {
      auto call = api::chat_request_from_responses(body, api::ItemSource{&state.response_items()});
      if (!call) {
        std::cerr << *request_path << ": " << call.failure().message << "\n";
        return 1;
      }
      body = std::move(call->chat_body);
    }
    auto parsed = api::parse_request(body, shape->endpoint);
    if (!parsed) {
      std::cerr << *request_path << ": " << parsed.failure().message << "\n";
      return 1;
    }
    proxy::resolve_alias(*parsed, *state.snapshot()->config);
    server::HttpRequest request;
    request.method = "POST";
    request.target = "/v1/" + std::string(shape->responses ? "responses" : shape->name());
    const auto decision = proxy::decide(*state.snapshot(), state.bandit(), *parsed, request,
                                        shape->endpoint, /*dry_run=*/true);
    nlohmann::json out = decision.to_json();
    out["endpoint"] = shape->name();
    std::cout << out.dump(2) << "\n";
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
