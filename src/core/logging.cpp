#include "llm_router/core/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace llm_router::logging {

void setup(const std::string& level) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  if (auto existing = spdlog::get(module)) return existing;
  auto logger = spdlog::stderr_color_mt(module);
  logger->set_level(spdlog::get_level());
  return logger;
}

}  // namespace llm_router::logging
