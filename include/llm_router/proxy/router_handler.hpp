#pragma once

#include <atomic>
#include <memory>

#include "llm_router/config/config.hpp"
#include "llm_router/server/http_types.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace llm_router::proxy {

// What every io thread's handler shares: the config snapshot and the router's own state.
struct RouterState {
  std::shared_ptr<const config::Config> config;
  std::atomic<bool> draining{false};
};

// The router's HTTP endpoints for one io thread (OpenAI API, health), with its own upstream
// providers and connection pools.
std::unique_ptr<server::RequestHandler> make_router_handler(
    std::shared_ptr<RouterState> state, boost::asio::io_context& io,
    std::shared_ptr<boost::asio::ssl::context> tls);

}  // namespace llm_router::proxy
