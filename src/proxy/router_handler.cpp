#include "router_handler.hpp"

#include <nlohmann/json.hpp>

#include "llm_router/api/errors.hpp"
#include "llm_router/upstream/providers.hpp"

namespace llm_router::proxy {
namespace {

using nlohmann::json;

// The OpenAI paths, with or without the /v1 prefix (clients configure base URLs both ways).
std::string_view api_path(std::string_view path) {
  if (path.starts_with("/v1/")) path.remove_prefix(3);
  return path;
}

struct Route {
  std::string_view path;
  std::string_view method;
};

constexpr Route kRoutes[] = {
    {"/chat/completions", "POST"}, {"/completions", "POST"}, {"/embeddings", "POST"},
    {"/models", "GET"},           {"/healthz", "GET"},     {"/readyz", "GET"},
};

}  // namespace

RouterHandler::RouterHandler(std::shared_ptr<RouterState> state, asio::io_context& io,
                             std::shared_ptr<asio::ssl::context> tls)
    : state_(std::move(state)), config_(state_->config), log_(logging::get("proxy")) {
  for (const auto& backend : config_->backends) {
    providers_.push_back(upstream::make_provider(backend, io, tls));
  }
}

void RouterHandler::shutdown() {
  for (auto& provider : providers_) provider->shutdown();
}

asio::awaitable<void> RouterHandler::handle(HttpRequest& request, ResponseWriter& writer) {
  const std::string_view path = api_path(request.path());
  const Route* known = nullptr;
  for (const auto& route : kRoutes) {
    if (route.path != path) continue;
    known = &route;
    if (route.method == request.method) break;
  }
  if (known == nullptr) {
    Failure failure{ErrorKind::unsupported_path, "unknown path " + std::string(request.path())};
    co_await send_error(writer, failure);
    co_return;
  }
  if (known->method != request.method && !(known->method == "GET" && request.method == "HEAD")) {
    Headers allow{Header{"allow", std::string(known->method)}};
    Failure failure{ErrorKind::method_not_allowed, request.method + " is not allowed on " +
                                                       std::string(path) + "; use " +
                                                       std::string(known->method)};
    co_await send_error(writer, failure, std::move(allow));
    co_return;
  }
  if (path == "/chat/completions") {
    co_await completion(request, writer, api::Endpoint::chat_completions);
  } else if (path == "/completions") {
    co_await completion(request, writer, api::Endpoint::completions);
  } else if (path == "/embeddings") {
    co_await completion(request, writer, api::Endpoint::embeddings);
  } else if (path == "/models") {
    co_await models(writer);
  } else if (path == "/healthz") {
    co_await send_json(writer, 200, std::string(R"({"status":"ok"})"));
  } else {
    co_await readiness(writer);
  }
}

asio::awaitable<void> RouterHandler::send_json(ResponseWriter& writer, int status,
                                               std::string body, Headers extra) {
  extra.push_back({"content-type", "application/json"});
  co_await writer.send(status, std::move(extra), std::move(body));
}

asio::awaitable<void> RouterHandler::send_error(ResponseWriter& writer, const Failure& failure,
                                                Headers extra) {
  co_await send_json(writer, traits(failure.kind).status, api::error_body(failure),
                     std::move(extra));
}

asio::awaitable<void> RouterHandler::models(ResponseWriter& writer) {
  json data = json::array();
  auto add = [&](const std::string& id, const char* kind) {
    data.push_back({{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "llm-router"},
                    {"llm_router_kind", kind}});
  };
  for (const auto& route : config_->routes) add(route.name, "route");
  for (const auto& backend : config_->backends) add(backend.name, "backend");
  std::string body = json{{"object", "list"}, {"data", std::move(data)}}.dump();
  co_await send_json(writer, 200, std::move(body));
}

asio::awaitable<void> RouterHandler::readiness(ResponseWriter& writer) {
  const bool draining = state_->draining.load(std::memory_order_relaxed);
  std::string body = json{{"status", draining ? "draining" : "ready"},
                          {"backends", config_->backends.size()},
                          {"routes", config_->routes.size()}}
                         .dump();
  co_await send_json(writer, draining ? 503 : 200, std::move(body));
}

std::unique_ptr<server::RequestHandler> make_router_handler(
    std::shared_ptr<RouterState> state, boost::asio::io_context& io,
    std::shared_ptr<boost::asio::ssl::context> tls) {
  return std::make_unique<RouterHandler>(std::move(state), io, std::move(tls));
}

}  // namespace llm_router::proxy
