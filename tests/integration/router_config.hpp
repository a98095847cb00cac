#pragma once

#include <string>
#include <vector>

// Builds router configs for tests: backends pointing at mock-llm ports, one route over them.
namespace test_support {

struct TestBackend {
  std::string name;
  std::string base_url;  // empty: the built-in mock provider
  std::string extra;     // more YAML keys for the backend, e.g. "timeouts: {first_byte: 300ms}"
};

inline std::string router_config(const std::vector<TestBackend>& backends,
                                 const std::string& route_use,
                                 const std::string& route_fallback = "[]",
                                 const std::string& server_extra = "") {
  // Defaults for what server_extra does not set (a key given twice is a config error).
  std::string yaml = "server:\n";
  if (server_extra.find("threads:") == std::string::npos) yaml += "  threads: 2\n";
  if (server_extra.find("drain_timeout:") == std::string::npos) yaml += "  drain_timeout: 10s\n";
  yaml += server_extra + "logging: {level: warn}\nbackends:\n";
  for (const auto& b : backends) {
    yaml += "  - name: " + b.name + "\n";
    if (b.base_url.empty()) {
      yaml += "    provider: mock\n    mock: {time_to_first_token: 1ms, token_delay: 1ms}\n";
    } else {
      yaml += "    provider: openai\n    base_url: " + b.base_url + "\n    model: upstream-" +
              b.name + "\n    api_key: sk-backend-" + b.name + "\n";
    }
    if (!b.extra.empty()) yaml += "    " + b.extra + "\n";
  }
  yaml +=
      "routes:\n  - name: auto\n    use: " + route_use + "\n    fallback: " + route_fallback + "\n";
  return yaml;
}

}  // namespace test_support
