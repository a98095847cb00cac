#pragma once

#include <memory>
#include <optional>
#include <string>

#include "llm_router/config/config.hpp"

namespace llm_router::selector::testing {

// Four mock backends that differ in quality, price, tags, context and concurrency.
inline constexpr const char* kBackends = R"(
backends:
  - name: small
    provider: mock
    quality: 0.4
    cost: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    context_window: 8000
    max_concurrency: 2
    tags: [tools, json]
  - name: big
    provider: mock
    quality: 0.9
    cost: {input_per_mtok: 5, output_per_mtok: 15}
    context_window: 128000
    tags: [tools, json, vision, audio]
  - name: mid
    provider: mock
    quality: 0.7
    cost: {input_per_mtok: 1, output_per_mtok: 2}
  - name: local
    provider: mock
    quality: 0.5
    tags: [json]
)";

inline config::Config load(const std::string& routes_yaml) {
  return config::load_config_text(
      std::string(kBackends) + routes_yaml, "test.yaml",
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

inline std::shared_ptr<const config::Config> shared(const std::string& routes_yaml) {
  return std::make_shared<const config::Config>(load(routes_yaml));
}

}  // namespace llm_router::selector::testing
