#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "llm_router/core/logging.hpp"
#include "llm_router/proxy/router_handler.hpp"

namespace llm_router::proxy {

namespace asio = boost::asio;

// Active health checks: for every backend with a `health_check`, a coroutine on one io thread
// GETs its health path every `interval` and feeds the backend's circuit breaker:
// `unhealthy_after` failures in a row eject it (and keep it ejected while they go on),
// `healthy_after` passes in a row readmit what the probes ejected. The probes are made again
// whenever the config generation changes (hot reload; breaker state is kept per backend name)
// and end when the server starts draining.
class HealthProber {
 public:
  HealthProber(std::shared_ptr<RouterState> state, asio::io_context& io,
               std::shared_ptr<asio::ssl::context> tls);
  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  // Spawns the supervising coroutine on the io context.
  void start();
  // Ends every probe (their coroutines finish at their next step). On the io thread, or once
  // the io context no longer runs but before it is destroyed.
  void stop();

 private:
  struct Target;

  asio::awaitable<void> supervise();
  asio::awaitable<void> probe_loop(std::shared_ptr<Target> target);
  void retire_all();

  std::shared_ptr<RouterState> state_;
  asio::io_context& io_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::steady_timer* tick_ = nullptr;  // the supervisor's, while it runs
  std::optional<std::uint64_t> generation_;
  std::vector<std::shared_ptr<Target>> targets_;
  bool stopped_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace llm_router::proxy
