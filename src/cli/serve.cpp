#include <csignal>
#include <iostream>

#include "llm_router/cli/commands.hpp"
#include "llm_router/cli/options.hpp"
#include "llm_router/config/config.hpp"
#include "llm_router/core/logging.hpp"
#include "llm_router/proxy/router_handler.hpp"
#include "llm_router/server/http_server.hpp"
#include "llm_router/upstream/providers.hpp"

namespace llm_router::cli {
namespace {

server::ServerLimits limits_from(const config::ServerSettings& s) {
  server::ServerLimits limits;
  limits.max_body_bytes = s.max_body_bytes;
  limits.max_header_bytes = s.max_header_bytes;
  limits.header_timeout = s.header_timeout;
  limits.idle_timeout = s.idle_timeout;
  limits.max_connections = s.max_connections;
  limits.drain_timeout = s.drain_timeout;
  return limits;
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  Options options(args);
  const auto path = options.value("--config");
  const auto listen = options.value("--listen");
  if (!path || !options.ok()) {
    std::cerr << "usage: llm-router serve --config FILE [--listen HOST:PORT]\n"
              << options.problems();
    return 2;
  }
  std::shared_ptr<config::Config> config;
  try {
    config = std::make_shared<config::Config>(config::load_config_file(*path));
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 1;
  }
  if (listen) {
    auto parsed = config::parse_listen(*listen);
    if (!parsed) {
      std::cerr << "--listen must be HOST:PORT, got '" << *listen << "'\n";
      return 2;
    }
    std::tie(config->server.listen_host, config->server.listen_port) = *parsed;
  }
  logging::setup(config->logging.level);
  std::signal(SIGPIPE, SIG_IGN);

  auto state = std::make_shared<proxy::RouterState>();
  state->config = config;
  auto tls = upstream::make_tls_context();
  server::HttpServer server(config->server.threads, limits_from(config->server),
                            [&](boost::asio::io_context& io, std::size_t) {
                              return proxy::make_router_handler(state, io, tls);
                            });
  server.on_drain([&] { state->draining = true; });
  std::uint16_t port = 0;
  try {
    port = server.listen(config->server.listen_host, config->server.listen_port);
  } catch (const std::exception& e) {
    std::cerr << "cannot listen on " << config->server.listen_host << ":"
              << config->server.listen_port << ": " << e.what() << "\n";
    return 1;
  }
  std::cout << "llm-router listening on " << config->server.listen_host << ":" << port
            << std::endl;
  spdlog::info("llm-router serving {} backends and {} routes from {}", config->backends.size(),
               config->routes.size(), config->source);
  server.run(/*handle_signals=*/true);
  spdlog::info("llm-router stopped");
  return 0;
}

}  // namespace llm_router::cli
