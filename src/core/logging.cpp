#include "llm_router/core/logging.hpp"

#include <mutex>

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace llm_router::logging {

void setup(const std::string& level) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  static std::mutex creation;
  std::lock_guard lock(creation);
  if (auto existing = spdlog::get(module)) return existing;
  // Asynchronous: io threads hand lines to one logging thread instead of writing (and locking)
  // themselves. When the queue is full the oldest line is dropped rather than block a request.
  static const bool pool_ready = [] {
    spdlog::init_thread_pool(16384, 1);
    return true;
  }();
  (void)pool_ready;
  auto logger = spdlog::create_async_nb<spdlog::sinks::stderr_color_sink_mt>(module);
  logger->set_level(spdlog::get_level());
  logger->flush_on(spdlog::level::warn);
  return logger;
}

}  // namespace llm_router::logging
