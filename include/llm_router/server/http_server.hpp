#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "llm_router/core/error.hpp"
#include "llm_router/server/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace llm_router::server {

struct ServerLimits {
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::size_t max_body_memory = 512 * 1024 * 1024;  // all request bodies held at once
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{75'000};
  std::chrono::milliseconds write_timeout{60'000};
  int max_connections = 10'000;
  std::chrono::milliseconds drain_timeout{30'000};
  // After a stop signal, how long the server goes on accepting and serving (readiness already
  // says "draining") before the drain: a load balancer takes a while to stop sending.
  std::chrono::milliseconds shutdown_delay{0};
};

struct ServerCounters {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::int64_t> requests_in_flight{0};
  std::atomic<std::uint64_t> requests_total{0};
  // Requests refused before any handler saw them (unreadable, too large, too slow, too many
  // connections), by the refusal's kind.
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(ErrorKind::internal) + 1>
      refused{};
};

// One io_context per thread, each with its own handler (so per-thread state such as upstream
// connection pools needs no locks); one acceptor hands connections out round-robin.
class HttpServer {
 public:
  using HandlerFactory =
      std::function<std::unique_ptr<RequestHandler>(asio::io_context& io, std::size_t index)>;

  HttpServer(int threads, ServerLimits limits, HandlerFactory factory);
  ~HttpServer();

  // Binds and listens; returns the bound port (useful with port 0). Throws on failure (startup).
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  // Runs until a graceful stop completes. SIGTERM/SIGINT start one when handle_signals is set.
  // `ready` runs once the signal handlers are in place, before serving (announce readiness
  // there: a signal sent after it is handled, never fatal).
  void run(bool handle_signals, const std::function<void()>& ready = {});
  // Stops accepting, lets in-flight requests finish (bounded by drain_timeout), then returns
  // from run(). Safe to call from any thread.
  void stop_gracefully();
  bool draining() const;
  const ServerCounters& counters() const;
  // Called on the first io thread for every SIGHUP (config reload); optional.
  void on_sighup(std::function<void()> callback);
  // Called once when a graceful stop begins (no new connections); optional.
  void on_drain(std::function<void()> callback);
  // Called once when a stop signal comes, before the drain (at once, or shutdown_delay before
  // it): readiness should turn false; optional.
  void on_stop_requested(std::function<void()> callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llm_router::server
